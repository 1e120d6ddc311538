// One Prisma client per process, connected through @prisma/adapter-pg to DATABASE_URL — the
// embedded database's localhost server or an external PostgreSQL alike.
import { PrismaClient } from "@prisma/client";
import { PrismaPg } from "@prisma/adapter-pg";
import type pg from "pg";
import { createPgPool, isConnectionError, pgSql, RETRY_DELAYS_MS, type Sql } from "./sql";
import { databaseUrl } from "../env";

export type Db = PrismaClient;

/** Model operations that only read: sent again when their connection was lost. */
const READS = new Set([
  "findUnique",
  "findUniqueOrThrow",
  "findFirst",
  "findFirstOrThrow",
  "findMany",
  "count",
  "aggregate",
  "groupBy",
]);

export function createPrisma(connectionString: string, opts: { max?: number } = {}): PrismaClient {
  const adapter = new PrismaPg({ connectionString, max: opts.max ?? 10 });
  // passwordHash never leaves by accident: code that checks passwords selects it explicitly.
  // The cast below: a client built with `omit` has its own generic type, which Prisma does not
  // make assignable to PrismaClient / Prisma.TransactionClient, the types every module takes.
  const client = new PrismaClient({ adapter, omit: { user: { passwordHash: true } } });
  // A read whose connection was lost (the database restarted, a connection was terminated) runs
  // again on a fresh one instead of failing the request. Writes are not repeated here: their
  // outcome is unknown when the reply is lost.
  return client.$extends({
    query: {
      async $allOperations({ operation, args, query }) {
        for (let attempt = 0; ; attempt++) {
          try {
            return await query(args);
          } catch (e) {
            if (!READS.has(operation) || attempt >= RETRY_DELAYS_MS.length || !isConnectionError(e)) throw e;
            await new Promise((r) => setTimeout(r, RETRY_DELAYS_MS[attempt]));
          }
        }
      },
    },
  }) as unknown as PrismaClient;
}

const globalForPrisma = globalThis as unknown as { pairwisePrisma?: PrismaClient };

/** The process's client; DATABASE_URL is set by `npm start`'s supervisor or the operator. */
export function db(): PrismaClient {
  if (!globalForPrisma.pairwisePrisma) {
    globalForPrisma.pairwisePrisma = createPrisma(databaseUrl());
  }
  return globalForPrisma.pairwisePrisma;
}

/** Tests point the process's client at their own database. */
export function setDbForTests(client: PrismaClient | undefined): void {
  globalForPrisma.pairwisePrisma = client;
}

const globalForSql = globalThis as unknown as { pairwiseSql?: { url: string; pool: pg.Pool; sql: Sql } };

/**
 * The process's node-postgres executor (server/db/sql.ts) for the hot paths: the annotator's
 * "Next" and submit. Follows DATABASE_URL (tests point it at their own database).
 */
export function appSql(): Sql {
  const url = databaseUrl();
  const cur = globalForSql.pairwiseSql;
  if (cur && cur.url === url) return cur.sql;
  if (cur) void cur.pool.end().catch(() => {});
  const pool = createPgPool(url, { max: 10, applicationName: "pairwise-hot" });
  globalForSql.pairwiseSql = { url, pool, sql: pgSql(pool) };
  return globalForSql.pairwiseSql.sql;
}

/** Closes appSql's pool (process shutdown, tests). */
export async function closeAppSql(): Promise<void> {
  const cur = globalForSql.pairwiseSql;
  globalForSql.pairwiseSql = undefined;
  await cur?.pool.end().catch(() => {});
}
