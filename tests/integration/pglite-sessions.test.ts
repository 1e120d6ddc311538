// The embedded database serves every client from PGlite's one session. Outside clients (psql,
// pg_dump, scripts) connect to it with a real `pg` client over the wire protocol here, change
// their session and leave a transaction open, while the app keeps answering: its REST loop
// (node-postgres) and Prisma reads, through the same handlers the web process runs.
// Always PGlite (this is about the embedded server), whatever TEST_DATABASE_URL says.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import pg from "pg";
import type { PrismaClient } from "@prisma/client";
import { startEmbeddedDatabase, type EmbeddedDatabase } from "@/server/db/embedded";
import { migrate } from "@/server/db/migrate";
import { closeAppSql, createPrisma, setDbForTests } from "@/server/db/client";
import { changesSession } from "@/server/db/pglite-server";
import { createApiToken } from "@/server/auth/tokens";
import * as annotation from "@/server/api/annotation";
import * as api from "@/server/api/handlers";
import { makeProject, makeUser } from "./annotation/fixtures";

let embedded: EmbeddedDatabase;
let prisma: PrismaClient;
let token: string;
let slug: string;
const outside: pg.Client[] = [];

beforeAll(async () => {
  embedded = await startEmbeddedDatabase({ dataDir: null, port: 0 });
  await migrate(embedded.url);
  prisma = createPrisma(embedded.url, { max: 4 });
  setDbForTests(prisma);
  process.env.DATABASE_URL = embedded.url;
  await closeAppSql();
  const u = await makeUser(prisma, "Ann");
  token = (await createApiToken({ userId: u.id, name: "t", scopes: ["write"] })).token;
  const fx = await makeProject(prisma, { comparisons: 10, overlap: 1 });
  slug = (await prisma.project.findUniqueOrThrow({ where: { id: fx.projectId } })).slug;
}, 120_000);
afterAll(async () => {
  for (const c of outside) await c.end().catch(() => {});
  await closeAppSql();
  await prisma?.$disconnect();
  setDbForTests(undefined);
  await embedded?.stop();
});

async function psql(name = "psql"): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: embedded.url, application_name: name });
  c.on("error", () => {});
  await c.connect();
  outside.push(c);
  return c;
}

const post = (path: string, body?: unknown) =>
  new Request(`http://pairwise.test/api/v1${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body ?? {}),
  });

/** One round of the annotator's loop plus a Prisma read; the statuses. */
async function appRound(key: string): Promise<number[]> {
  const lease = await annotation.annotationNextHandler(post(`/projects/${slug}/annotation/next`));
  const out = [lease.status];
  if (lease.status !== 200) return out;
  const l = (await lease.json()) as { kind: string; assignment?: { assignmentId: string } };
  if (l.kind === "assignment") {
    const submit = await annotation.annotationSubmitHandler(
      post("/annotation/submit", {
        assignmentId: l.assignment!.assignmentId,
        idempotencyKey: key,
        answer: { kind: "pairwise", choice: "B" },
      }),
    );
    out.push(submit.status);
  }
  const read = await api.getProjectHandler(
    new Request(`http://pairwise.test/api/v1/projects/${slug}`, {
      headers: { authorization: `Bearer ${token}` },
    }),
  );
  out.push(read.status);
  return out;
}

describe("embedded database: one session, many clients", () => {
  test("which statements count as changing the session", () => {
    expect(changesSession("SET search_path TO nowhere")).toBe(true);
    expect(changesSession("select 1; set statement_timeout = 0")).toBe(true);
    expect(changesSession("SELECT pg_catalog.set_config('search_path', '', false)")).toBe(true);
    expect(changesSession("RESET ALL")).toBe(true);
    expect(changesSession("SET LOCAL search_path TO x")).toBe(false);
    expect(changesSession(`UPDATE "Comparison" SET "leaseCount" = 0`)).toBe(false);
    expect(changesSession("SELECT 1")).toBe(false);
  });

  test("an outside client's SET never reaches the app, and the client keeps its own settings", async () => {
    const c = await psql();
    await c.query("SET search_path TO nowhere");
    await c.query("SET default_transaction_read_only = on");
    // what pg_dump does first
    await c.query("SELECT pg_catalog.set_config('search_path', '', false)");
    await c.query("SET search_path TO nowhere");
    for (let i = 0; i < 3; i++) expect(await appRound(`session-a-${i}`)).toEqual([200, 200, 200]);
    expect((await c.query("SHOW search_path")).rows[0].search_path).toBe("nowhere");
    expect((await c.query("SHOW default_transaction_read_only")).rows[0].default_transaction_read_only).toBe(
      "on",
    );
    await expect(c.query(`SELECT count(*) FROM "Project"`)).rejects.toThrow(/does not exist/);
    expect(await appRound("session-a-3")).toEqual([200, 200, 200]);
    await c.query("RESET ALL");
    expect((await c.query(`SELECT count(*)::int AS n FROM "Project"`)).rows[0].n).toBe(1);
  });

  test("a BEGIN left open stalls the app for at most the idle limit, once; that client is disconnected", async () => {
    const c = await psql();
    await c.query("BEGIN");
    await c.query(`SELECT count(*) FROM "Judgment"`);
    const t0 = Date.now();
    expect(await appRound("session-b-0")).toEqual([200, 200, 200]);
    const stalled = Date.now() - t0;
    expect(stalled).toBeLessThan(6_000);
    // then the app runs at its usual pace
    const t1 = Date.now();
    expect(await appRound("session-b-1")).toEqual([200, 200, 200]);
    expect(Date.now() - t1).toBeLessThan(2_000);
    await expect(c.query("SELECT 1")).rejects.toThrow(/idle-in-transaction|terminat|Connection/i);
    // its open transaction was rolled back, the judgments are all there
    expect(await prisma.judgment.count({ where: { idempotencyKey: { startsWith: "session-" } } })).toBe(6);
  });

  test("an outside client's short transactions still work (they are not idle)", async () => {
    const c = await psql();
    await c.query("BEGIN");
    const r = await c.query(`SELECT count(*)::int AS n FROM "Judgment"`);
    await c.query("COMMIT");
    expect(r.rows[0].n).toBeGreaterThanOrEqual(6);
    expect(await appRound("session-c-0")).toEqual([200, 200, 200]);
  });
});
