// Bulk paths (import, export, the benchmark) talk to PostgreSQL through `pg` directly: they need
// cursors, multi-row statements and COPY, which Prisma does not offer. They use the same
// DATABASE_URL as the process's Prisma client (server/db/client.ts).
import pg from "pg";

export function databaseUrl(url?: string): string {
  // eslint-disable-next-line no-restricted-properties -- resolved by server/env.ts at process start (as in server/db/client.ts)
  const u = url ?? process.env.DATABASE_URL;
  if (!u)
    throw new Error(
      "DATABASE_URL is not set: start Pairwise with `npm start`, or set DATABASE_URL to a PostgreSQL URL.",
    );
  return u;
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
