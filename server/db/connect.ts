// How a short-lived command (CLI, seed, bench) reaches the database:
//  - DATABASE_URL set: that server;
//  - embedded and `npm start` is running: its database server (recorded in the data folder);
//  - embedded and nothing running: start PGlite in-process for the command's duration.
import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { env, setDatabaseUrl } from "../env";
import { startEmbeddedDatabase } from "./embedded";
import { migrate } from "./migrate";
import { createPrisma, setDbForTests } from "./client";

export function runtimeFile(dataDir: string): string {
  return path.join(dataDir, "database.json");
}

export function runningEmbeddedUrl(dataDir: string): string | null {
  try {
    const info = JSON.parse(fs.readFileSync(runtimeFile(dataDir), "utf8")) as { pid: number; url: string };
    process.kill(info.pid, 0);
    return info.url;
  } catch {
    return null;
  }
}

export class DatabaseUnreachableError extends Error {
  constructor(url: string, cause: string) {
    const safe = url.replace(/:\/\/([^:@/]+):[^@/]*@/, "://$1:***@");
    super(
      `Cannot connect to the database at ${safe}: ${cause}\n` +
        "Check that PostgreSQL is running and that DATABASE_URL (user, password, host, port, database) is right, " +
        "or unset DATABASE_URL to use the embedded database.",
    );
    this.name = "DatabaseUnreachableError";
  }
}

/** Fail fast with a clear message when a database URL does not work. */
export async function checkDatabase(url: string, timeoutMs = 5000): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on("error", () => {}); // a dropped connection rejects the query in flight; don't crash the process
  try {
    await client.connect();
    await client.query("SELECT 1");
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { code?: string };
    const why =
      err.code === "ECONNREFUSED"
        ? "connection refused (nothing listens there)"
        : err.code === "ENOTFOUND"
          ? "unknown host"
          : err.code === "28P01" || err.code === "28000"
            ? "authentication failed (wrong user or password)"
            : err.code === "3D000"
              ? "that database does not exist (create it first)"
              : err.message;
    throw new DatabaseUnreachableError(url, why);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Run fn with DATABASE_URL pointing at a migrated database; cleans up what it started. */
export async function withDatabase<T>(
  fn: (url: string) => Promise<T>,
  opts: { migrate?: boolean } = {},
): Promise<T> {
  const e = env();
  let url = e.DATABASE_URL ?? runningEmbeddedUrl(e.dataDir);
  let stop: (() => Promise<void>) | undefined;
  if (!url) {
    const started = await startEmbeddedDatabase({ dataDir: e.dataDir, port: 0 });
    url = started.url;
    stop = () => started.stop();
  }
  try {
    await checkDatabase(url);
    if (opts.migrate !== false) await migrate(url);
    setDatabaseUrl(url); // db(), appSql() and pg-boss in this process follow it
    const prisma = createPrisma(url, { max: 4 });
    setDbForTests(prisma);
    try {
      return await fn(url);
    } finally {
      await prisma.$disconnect();
      setDbForTests(undefined);
    }
  } finally {
    await stop?.();
  }
}
