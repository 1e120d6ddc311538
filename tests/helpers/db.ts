// A real, isolated database for one test file.
//  - default: an in-memory PGlite served over the PostgreSQL wire protocol on a free port;
//  - TEST_DATABASE_URL set: a fresh database created on that server, dropped afterwards.
// Either way migrations are applied by the same runner `npm start` uses, and the test gets a
// Prisma client through @prisma/adapter-pg, exactly as the app connects.
import crypto from "node:crypto";
import pg from "pg";
import type { PrismaClient } from "@prisma/client";
import { startEmbeddedDatabase, type EmbeddedDatabase } from "@/server/db/embedded";
import { migrate } from "@/server/db/migrate";
import { createPrisma, setDbForTests } from "@/server/db/client";

export interface TestDatabase {
  url: string;
  prisma: PrismaClient;
  mode: "pglite" | "postgres";
  close(): Promise<void>;
}

export async function createTestDatabase(opts: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const external = process.env.TEST_DATABASE_URL;
  let url: string;
  let embedded: EmbeddedDatabase | undefined;
  let dropDb: (() => Promise<void>) | undefined;
  if (external) {
    const name = `pw_test_${crypto.randomBytes(6).toString("hex")}`;
    const admin = new pg.Client({ connectionString: external });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const u = new URL(external);
    u.pathname = `/${name}`;
    url = u.toString();
    dropDb = async () => {
      const a = new pg.Client({ connectionString: external });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    };
  } else {
    embedded = await startEmbeddedDatabase({ dataDir: null, port: 0 });
    url = embedded.url;
  }
  if (opts.migrate !== false) await migrate(url);
  const prisma = createPrisma(url, { max: 5 });
  setDbForTests(prisma);
  process.env.DATABASE_URL = url;
  return {
    url,
    prisma,
    mode: external ? "postgres" : "pglite",
    async close() {
      await prisma.$disconnect();
      setDbForTests(undefined);
      await embedded?.stop();
      await dropDb?.();
    },
  };
}
