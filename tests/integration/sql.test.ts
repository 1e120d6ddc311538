// The two executors of server/db/sql.ts send the same SQL and read the same values: timestamps in
// UTC whatever the machine's time zone, arrays, JSON; prepared statements on PostgreSQL, unnamed
// ones on the embedded database (one PGlite session behind every connection); transactions that
// roll back on a throw.
import { afterAll, beforeAll, expect, test } from "vitest";
import { createTestDatabase, type TestDatabase } from "../helpers/db";
import { createPgPool, isUniqueViolation, pgSql, prismaSql, type Sql } from "@/server/db/sql";
import type pg from "pg";

let t: TestDatabase;
let pool: pg.Pool;
let pgx: Sql;
const tz = process.env.TZ;

beforeAll(async () => {
  t = await createTestDatabase();
  pool = createPgPool(t.url, { max: 3 });
  pgx = pgSql(pool);
  await t.prisma.$executeRawUnsafe(
    `CREATE TABLE sql_probe (id text PRIMARY KEY, at timestamp(3), tags text[], doc jsonb)`,
  );
});
afterAll(async () => {
  process.env.TZ = tz;
  await pool?.end();
  await t?.close();
});

test("timestamps round-trip in UTC through both executors, in a non-UTC time zone", async () => {
  process.env.TZ = "Asia/Kolkata"; // +05:30: a local-time reading would be off by 5.5 hours
  const at = new Date(Date.UTC(2026, 10, 29, 23, 45, 1, 250));
  for (const [name, sql] of [
    ["pg", pgx],
    ["prisma", prismaSql(t.prisma)],
  ] as const) {
    await sql.query(
      `INSERT INTO sql_probe (id, at, tags, doc) VALUES ($1::text, $2::timestamp(3), $3::text[], $4::jsonb)`,
      [name, at, ["a", "b,c"], JSON.stringify({ k: [1, 2] })],
    );
  }
  // what the database holds is the UTC wall time
  const raw = await pgx.query<{ id: string; s: string }>(
    `SELECT id, to_char(at, 'YYYY-MM-DD HH24:MI:SS.MS') AS s FROM sql_probe ORDER BY id`,
  );
  expect(raw.map((r) => r.s)).toEqual(["2026-11-29 23:45:01.250", "2026-11-29 23:45:01.250"]);
  for (const sql of [pgx, prismaSql(t.prisma)]) {
    const rows = await sql.query<{ id: string; at: Date; tags: string[]; doc: unknown }>(
      `SELECT id, at, tags, doc FROM sql_probe ORDER BY id`,
    );
    for (const r of rows) {
      expect(r.at.getTime()).toBe(at.getTime());
      expect(r.tags).toEqual(["a", "b,c"]);
      expect(r.doc).toEqual({ k: [1, 2] });
    }
  }
  process.env.TZ = tz;
});

test("the same statement many times over several connections (prepared where the server allows it)", async () => {
  const text = `SELECT $1::int + 1 AS n`;
  const out = await Promise.all(Array.from({ length: 30 }, (_, i) => pgx.query<{ n: number }>(text, [i])));
  expect(out.map((r) => r[0]!.n)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
});

test("a transaction commits as a whole or not at all; unique violations are recognised from both executors", async () => {
  await expect(
    pgx.transaction(async (tx) => {
      await tx.query(`INSERT INTO sql_probe (id) VALUES ('tx-1')`);
      throw new Error("boom");
    }),
  ).rejects.toThrow("boom");
  expect(await pgx.query(`SELECT 1 FROM sql_probe WHERE id = 'tx-1'`)).toHaveLength(0);
  await pgx.transaction(async (tx) => {
    await tx.query(`INSERT INTO sql_probe (id) VALUES ('tx-2')`);
    expect(tx.inTransaction).toBe(true);
  });
  expect(await pgx.query(`SELECT 1 FROM sql_probe WHERE id = 'tx-2'`)).toHaveLength(1);
  for (const sql of [pgx, prismaSql(t.prisma)]) {
    const e = await sql.query(`INSERT INTO sql_probe (id) VALUES ('tx-2')`).catch((x: unknown) => x);
    expect(isUniqueViolation(e)).toBe(true);
  }
});
