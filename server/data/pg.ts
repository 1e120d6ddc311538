// Bulk paths (import, export, the benchmark) talk to PostgreSQL through `pg` directly: they need
// cursors, multi-row statements and COPY, which Prisma does not offer. They use the same
// DATABASE_URL as the process's Prisma client (server/db/client.ts).
import pg from "pg";
import { databaseUrl as processDatabaseUrl } from "../env";

export function databaseUrl(url?: string): string {
  return url ?? processDatabaseUrl();
}

export async function connectPg(url?: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: databaseUrl(url), application_name: "pairwise-bulk" });
  client.on("error", () => {}); // a dropped connection rejects the query in flight; don't crash the process
  await client.connect();
  return client;
}

export async function withPgClient<T>(fn: (client: pg.Client) => Promise<T>, url?: string): Promise<T> {
  const client = await connectPg(url);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}
