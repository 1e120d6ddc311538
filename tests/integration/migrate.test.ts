// The migration runner against the real `prisma migrate deploy` (through the WASM schema engine and
// the PGlite adapter, the one path where the real command works offline), concurrency, and a
// database written by a newer schema.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { afterAll, expect, test } from "vitest";
import pg from "pg";
import { startEmbeddedDatabase } from "@/server/db/embedded";
import { migrate, listMigrations, SchemaTooNewError } from "@/server/db/migrate";
import { prismaEnv } from "../../scripts/prisma.mjs";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "pw-mig-"));
  dirs.push(d);
  return d;
};

function prismaCli(args: string[], env: Record<string, string>, waitFor: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["node_modules/prisma/build/index.js", ...args], {
      env: { ...prismaEnv(), ...env },
    });
    let out = "";
    const onData = (d: Buffer) => {
      out += d.toString();
      // The CLI keeps PGlite open after printing its verdict; we stop it once it has spoken.
      if (waitFor.test(out)) {
        child.kill("SIGKILL");
        resolve(out);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", () => (waitFor.test(out) ? resolve(out) : reject(new Error(out))));
  });
}

test("the real `prisma migrate deploy` agrees with what the runner applied", async () => {
  const dataDir = tmp();
  const db = await startEmbeddedDatabase({ dataDir, port: 0 });
  const r = await migrate(db.url);
  expect(r.applied).toEqual(listMigrations().map((m) => m.name));
  await db.stop();
  const out = await prismaCli(
    ["migrate", "deploy"],
    { PRISMA_PGLITE_DIR: path.join(dataDir, "pg") },
    /No pending migrations|migrations? (have been )?applied|Error/,
  );
  expect(out).toContain(`${listMigrations().length} migration`);
  expect(out).toContain("No pending migrations to apply.");
}, 120_000);

test("two processes migrating at once: each migration applied exactly once", async () => {
  const db = await startEmbeddedDatabase({ dataDir: null, port: 0 });
  try {
    const results = await Promise.all([migrate(db.url), migrate(db.url), migrate(db.url)]);
    expect(results.map((x) => x.applied.length).sort()).toEqual([0, 0, listMigrations().length]);
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const { rows } = await c.query(
      `SELECT migration_name, count(*)::int AS n FROM "_prisma_migrations" GROUP BY 1`,
    );
    await c.end();
    expect(rows.every((x) => x.n === 1)).toBe(true);
  } finally {
    await db.stop();
  }
});

test("a database written by a newer schema is refused with a clear message", async () => {
  const db = await startEmbeddedDatabase({ dataDir: null, port: 0 });
  try {
    await migrate(db.url);
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    await c.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count) VALUES ('x', 'y', now(), '29990101000000_future', 1)`,
    );
    await c.end();
    const err = await migrate(db.url).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchemaTooNewError);
    expect((err as Error).message).toMatch(/newer version of Pairwise.*29990101000000_future/s);
    expect((err as Error).message).toMatch(/Upgrade Pairwise/);
  } finally {
    await db.stop();
  }
});

test("a second embedded database on the same data folder is refused (locked)", async () => {
  const dataDir = tmp();
  const db = await startEmbeddedDatabase({ dataDir, port: 0 });
  try {
    await expect(startEmbeddedDatabase({ dataDir, port: 0 })).rejects.toThrow(
      /in use by another Pairwise process/,
    );
  } finally {
    await db.stop();
  }
  // released on stop: a new start works and sees the same data
  const again = await startEmbeddedDatabase({ dataDir, port: 0 });
  await again.stop();
});
