// One small SQL interface for the hot paths (the annotator's "Next" and submit, recording a
// judgment), with two executors:
//  - pgSql: node-postgres straight on a pool, every statement prepared once per connection (the
//    web process's annotation endpoints; a statement costs about a third of Prisma's here);
//  - prismaSql: the same statements through a Prisma client or interactive transaction (callers
//    that already hold one, and tests), via $queryRawUnsafe.
// Statements are written with positional parameters and explicit casts ($1::text[],
// $2::timestamp(3), $3::jsonb) so both executors send identical SQL. Dates go in as ISO strings
// and `timestamp` columns (Prisma's DateTime) are read as UTC, whatever the machine's time zone.
// No "server-only" import: the web process's fast lane (plain Node) uses this too.
import crypto from "node:crypto";
import pg from "pg";
import type { Prisma, PrismaClient } from "@prisma/client";

export interface Sql {
  /** Runs one statement; rows as objects. */
  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs `fn` in a transaction (or inside the current one). A throw rolls everything back. */
  transaction<T>(fn: (sql: Sql) => Promise<T>): Promise<T>;
  readonly inTransaction: boolean;
}

export type SqlSource = Sql | PrismaClient | Prisma.TransactionClient;

export function isSql(x: unknown): x is Sql {
  return (
    typeof x === "object" &&
    x !== null &&
    typeof (x as Sql).query === "function" &&
    typeof (x as Sql).transaction === "function"
  );
}

/** The executor for whatever a caller passed: an Sql as is, a Prisma client or transaction wrapped. */
export function toSql(x: SqlSource): Sql {
  return isSql(x) ? x : prismaSql(x);
}

function param(v: unknown): unknown {
  if (v instanceof Date) return v.toISOString();
  return v;
}

// ---- node-postgres ----

const names = new Map<string, string>();
function statementName(text: string): string {
  let n = names.get(text);
  if (!n) {
    n = `pw_${crypto.createHash("sha1").update(text).digest("hex").slice(0, 16)}`;
    names.set(text, n);
  }
  return n;
}

const TIMESTAMP_OID = 1114;
const types = {
  getTypeParser(oid: number, format?: string) {
    // Prisma stores DateTime as `timestamp(3)` in UTC; node-postgres would read it as local time.
    if (oid === TIMESTAMP_OID) return (s: string) => new Date(s.replace(" ", "T") + "Z");
    return pg.types.getTypeParser(oid, format as "text");
  },
} as pg.CustomTypesConfig;

/** A pool for pgSql: UTC timestamps, a name in pg_stat_activity, errors on idle clients ignored. */
export function createPgPool(
  connectionString: string,
  opts: { max?: number; applicationName?: string } = {},
): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: opts.max ?? 10,
    types,
    application_name: opts.applicationName ?? "pairwise",
  });
  pool.on("error", () => {}); // an idle client dropped by the server; the next checkout reconnects
  return pool;
}

type Queryable = pg.Pool | pg.PoolClient;

// Named (prepared) statements are per session on PostgreSQL. The embedded database serves every
// connection from PGlite's single session, where a second connection preparing the same name
// fails ("already exists"): there, statements stay unnamed.
const preparable = new WeakMap<pg.Pool, Promise<boolean>>();
function canPrepare(pool: pg.Pool): Promise<boolean> {
  let p = preparable.get(pool);
  if (!p) {
    p = pool.query<{ v: string }>("SELECT version() AS v").then(
      (r) => !/PGlite/i.test(r.rows[0]?.v ?? ""),
      () => false,
    );
    preparable.set(pool, p);
  }
  return p;
}

/**
 * A lost connection (the server terminated it, restarted, or the network cut it), as opposed to
 * an error of the statement itself. Either executor.
 */
export function isConnectionError(e: unknown): boolean {
  const err = e as { code?: string; message?: string; cause?: unknown; meta?: { code?: string } } | null;
  if (!err || typeof err !== "object") return false;
  const code = err.code ?? err.meta?.code ?? "";
  if (/^(57P01|57P02|57P03|08000|08001|08003|08004|08006|P1001|P1002|P1017)$/.test(code)) return true;
  if (/^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT)$/.test(code)) return true;
  const msg = err.message ?? "";
  if (
    /Connection terminated|terminating connection|Client has encountered a connection error|Connection ended|connection is closed|Client was closed|server closed the connection|ECONNRESET|ECONNREFUSED|EPIPE|the database system is (shutting down|starting up)/i.test(
      msg,
    )
  )
    return true;
  return err.cause !== undefined && err.cause !== e && isConnectionError(err.cause);
}

/** Waits before the n-th retry after a lost connection (a restarting database needs a moment). */
export const RETRY_DELAYS_MS = [20, 150, 500, 1500];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `fn` again (on fresh connections) when its connection was lost. Only for work that is
 * safe to repeat: reads, and writes that are idempotent (a lease heartbeat, a skip).
 */
export async function withConnectionRetry<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt >= RETRY_DELAYS_MS.length || !isConnectionError(e)) throw e;
      await sleep(RETRY_DELAYS_MS[attempt]!);
    }
  }
}

class PgSql implements Sql {
  constructor(
    private readonly q: Queryable,
    readonly inTransaction: boolean,
    private readonly prepare: Promise<boolean>,
  ) {}

  /**
   * Outside a transaction, a statement whose connection was lost is sent again on a fresh one.
   * The hot path's autocommit statements are reads, the lease function (a repeat after a commit
   * whose reply was lost leaves one extra lease, which expires) and the abuse-limit upsert (one
   * hit counted twice); inside a transaction the whole transaction is retried (below).
   */
  async query<T>(text: string, params: readonly unknown[] = []): Promise<T[]> {
    const name = (await this.prepare) ? statementName(text) : undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.q.query({ name, text, values: params.map(param), types });
        return res.rows as T[];
      } catch (e) {
        if (this.inTransaction || attempt >= RETRY_DELAYS_MS.length || !isConnectionError(e)) throw e;
        await sleep(RETRY_DELAYS_MS[attempt]!);
      }
    }
  }

  /**
   * Runs `fn` in a transaction. A connection lost before COMMIT was sent means the server rolled
   * everything back: the transaction runs again from the start on a fresh connection. One lost
   * during COMMIT has an unknown outcome and is not retried here (the error goes up).
   */
  async transaction<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    if (this.inTransaction) return fn(this);
    for (let attempt = 0; ; attempt++) {
      let committing = false;
      let client: pg.PoolClient | undefined;
      let broken = false;
      // pg-pool takes its own 'error' listener off a client while it is checked out, and a
      // client whose connection ends emits 'error' even when a query is in flight (the query
      // fails too). Without a listener here, that event is an uncaught exception that kills the
      // process; with it, the query's own rejection does the work (retry below) and the dead
      // client is released as broken, so the pool replaces it.
      const onError = () => {
        broken = true;
      };
      try {
        client = await (this.q as pg.Pool).connect();
        client.on("error", onError);
        await client.query("BEGIN");
        const out = await fn(new PgSql(client, true, this.prepare));
        committing = true;
        await client.query("COMMIT");
        return out;
      } catch (e) {
        if (client) {
          try {
            await client.query("ROLLBACK");
          } catch {
            broken = true; // the connection died: do not hand it out again
          }
        }
        if (committing || attempt >= RETRY_DELAYS_MS.length || !isConnectionError(e)) throw e;
        broken = true;
        await sleep(RETRY_DELAYS_MS[attempt]!);
      } finally {
        client?.removeListener("error", onError);
        client?.release(broken);
      }
    }
  }
}

export function pgSql(pool: pg.Pool): Sql {
  return new PgSql(pool, false, canPrepare(pool));
}

/** A connection that is inside a transaction already (e.g. an import batch's), as an Sql. */
export function clientSql(client: pg.Client | pg.PoolClient): Sql {
  return new PgSql(client as pg.PoolClient, true, Promise.resolve(false));
}

// ---- Prisma ----

class PrismaSql implements Sql {
  constructor(
    private readonly db: PrismaClient | Prisma.TransactionClient,
    readonly inTransaction: boolean,
  ) {}

  async query<T>(text: string, params: readonly unknown[] = []): Promise<T[]> {
    return (await this.db.$queryRawUnsafe(text, ...params.map(param))) as T[];
  }

  async transaction<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    if (this.inTransaction) return fn(this);
    return (this.db as PrismaClient).$transaction((tx) => fn(new PrismaSql(tx, true)), {
      timeout: 30_000,
      maxWait: 30_000,
    });
  }
}

export function prismaSql(db: PrismaClient | Prisma.TransactionClient): Sql {
  const inTx = typeof (db as PrismaClient).$transaction !== "function";
  return new PrismaSql(db, inTx);
}

/** PostgreSQL's unique_violation, from either executor. */
export function isUniqueViolation(e: unknown): boolean {
  const err = e as { code?: string; meta?: { code?: string }; message?: string } | null;
  if (!err) return false;
  if (err.code === "23505" || err.code === "P2002") return true;
  if (
    err.code === "P2010" &&
    (err.meta?.code === "23505" || /23505|unique constraint/i.test(err.message ?? ""))
  )
    return true;
  return /duplicate key value violates unique constraint/i.test(err.message ?? "");
}
