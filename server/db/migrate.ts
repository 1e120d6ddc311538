// Applies prisma/migrations/*/migration.sql over the PostgreSQL wire protocol.
//
// `prisma migrate deploy` through @prisma/adapter-pg fails ("Column type 'name' could not be
// deserialized", prisma/orm#27403) and the binary schema engine cannot be downloaded here, so this
// runner does what deploy does: each pending migration runs in a transaction, and is recorded in
// Prisma's own `_prisma_migrations` table with the same checksum (sha256 of the file), so the
// real `prisma migrate deploy` agrees wherever it runs. A transaction-scoped advisory lock makes
// concurrent starts safe: the second process waits, then finds nothing left to apply.
import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";
import pg from "pg";

export const MIGRATIONS_DIR = path.resolve(import.meta.dirname, "../../prisma/migrations");
const LOCK_KEY = 72_707_369; // same key Prisma's schema engine uses for migrate

export class SchemaTooNewError extends Error {
  constructor(readonly unknown: string[]) {
    super(
      `This database was written by a newer version of Pairwise: it has migration${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")} that this version does not know.\n` +
        "Upgrade Pairwise (git pull && npm install), or point DATABASE_URL / PAIRWISE_DATA_DIR at another database.",
    );
    this.name = "SchemaTooNewError";
  }
}

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export function listMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(dir, d.name, "migration.sql")))
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const buf = fs.readFileSync(path.join(dir, name, "migration.sql"));
      return {
        name,
        sql: buf.toString("utf8"),
        checksum: crypto.createHash("sha256").update(buf).digest("hex"),
      };
    });
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: number;
}

/** Apply pending migrations; safe to call from several processes at once. */
export async function migrate(
  connectionString: string,
  opts: { dir?: string; log?: (m: string) => void } = {},
): Promise<MigrateResult> {
  const migrations = listMigrations(opts.dir);
  const client = new pg.Client({ connectionString });
  client.on("error", () => {}); // a dropped connection rejects the statement in flight; don't crash the process
  await client.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock($1)", [LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
      "id" VARCHAR(36) PRIMARY KEY NOT NULL,
      "checksum" VARCHAR(64) NOT NULL,
      "finished_at" TIMESTAMPTZ,
      "migration_name" VARCHAR(255) NOT NULL,
      "logs" TEXT,
      "rolled_back_at" TIMESTAMPTZ,
      "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
      "applied_steps_count" INTEGER NOT NULL DEFAULT 0
    )`);
    const { rows } = await client.query<{ migration_name: string; checksum: string }>(
      `SELECT migration_name, checksum FROM "_prisma_migrations" WHERE rolled_back_at IS NULL AND finished_at IS NOT NULL`,
    );
    const known = new Set(migrations.map((m) => m.name));
    const unknown = rows.map((r) => r.migration_name).filter((n) => !known.has(n));
    if (unknown.length) throw new SchemaTooNewError(unknown);
    const done = new Map(rows.map((r) => [r.migration_name, r.checksum]));
    const applied: string[] = [];
    for (const m of migrations) {
      const had = done.get(m.name);
      if (had !== undefined) {
        if (had !== m.checksum)
          opts.log?.(`warning: migration ${m.name} was edited after it was applied (checksum differs)`);
        continue;
      }
      await client.query(m.sql);
      await client.query(
        `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, logs, started_at, applied_steps_count)
         VALUES ($1, $2, now(), $3, NULL, now(), 1)`,
        [crypto.randomUUID(), m.checksum, m.name],
      );
      applied.push(m.name);
      opts.log?.(`applied migration ${m.name}`);
    }
    await client.query("COMMIT");
    return { applied, alreadyApplied: rows.length };
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    await client.end();
  }
}
