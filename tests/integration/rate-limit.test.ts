// Abuse limits (server/auth/rate-limit.ts) against a real database: counted in PostgreSQL so that
// several web processes share them, answered with 429 and Retry-After on REST and tRPC.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { createTestDatabase, type TestDatabase } from "../helpers/db";
import { makeProject, makeUser } from "./annotation/fixtures";
import { createApiToken } from "@/server/auth/tokens";
import { hit, rateLimits, resetLocalRateCounts } from "@/server/auth/rate-limit";
import { resetEnvForTests } from "@/server/env";
import * as api from "@/server/api/handlers";
import { closeAppSql } from "@/server/db/client";

let t: TestDatabase;
let admin: string;
let adminId: string;
let slug: string;

function limits(spec: string) {
  process.env.PAIRWISE_RATE_LIMITS = spec;
  resetEnvForTests();
  resetLocalRateCounts();
}

beforeAll(async () => {
  t = await createTestDatabase();
  const a = await makeUser(t.prisma, "Admin", "admin");
  adminId = a.id;
  admin = (await createApiToken({ userId: a.id, name: "admin", scopes: ["admin"] })).token;
  const fx = await makeProject(t.prisma, { comparisons: 1 });
  slug = (await t.prisma.project.findUniqueOrThrow({ where: { id: fx.projectId } })).slug;
});
afterAll(async () => {
  limits("off");
  await closeAppSql();
  await t?.close();
});
beforeEach(async () => {
  await t.prisma.$executeRawUnsafe(`DELETE FROM "RateLimit"`);
});

const get = (path: string, token: string, ip = "203.0.113.7") =>
  new Request(`http://pairwise.test/api/v1${path}`, {
    headers: { authorization: `Bearer ${token}`, "x-pairwise-client-ip": ip },
  });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("rate limits", () => {
  test("configuration: defaults, overrides, off, and a clear error for a typo", () => {
    limits("");
    expect(rateLimits()!["signin.account"]).toMatchObject({ limit: 10, seconds: 600 });
    limits("signin.account=3/60, token.account=7/10");
    expect(rateLimits()!["signin.account"]).toMatchObject({ limit: 3, seconds: 60 });
    expect(rateLimits()!["token.account"]).toMatchObject({ limit: 7, seconds: 10 });
    limits("off");
    expect(rateLimits()).toBeNull();
    limits("signin.acount=3/60");
    expect(() => rateLimits()).toThrow(/signin\.acount.*bucket=limit\/seconds/);
  });

  test("strict buckets count in PostgreSQL: two processes share one count", async () => {
    limits("signin.account=5/600");
    for (let i = 0; i < 3; i++) expect((await hit("signin.account", "ann@example.com")).ok).toBe(true);
    resetLocalRateCounts(); // "another process": nothing local carries over
    expect((await hit("signin.account", "ann@example.com")).ok).toBe(true);
    expect((await hit("signin.account", "ann@example.com")).ok).toBe(true);
    const sixth = await hit("signin.account", "ann@example.com");
    expect(sixth.ok).toBe(false);
    if (!sixth.ok) {
      expect(sixth.retryAfterSeconds).toBeGreaterThan(0);
      expect(sixth.retryAfterSeconds).toBeLessThanOrEqual(600);
    }
    // another account is not affected; the row holds the count
    expect((await hit("signin.account", "bob@example.com")).ok).toBe(true);
    const rows = await t.prisma.$queryRawUnsafe<{ key: string; count: number }[]>(
      `SELECT key, count FROM "RateLimit" WHERE bucket = 'signin.account' ORDER BY key`,
    );
    expect(rows).toEqual([
      { key: "ann@example.com", count: 6 },
      { key: "bob@example.com", count: 1 },
    ]);
  });

  test("a new window starts from zero", async () => {
    limits("signin.ip=2/1");
    // wait for the start of a fresh 1-second window, so all three hits fall in it
    await sleep(1000 - (Date.now() % 1000) + 20);
    expect((await hit("signin.ip", "198.51.100.1")).ok).toBe(true);
    expect((await hit("signin.ip", "198.51.100.1")).ok).toBe(true);
    expect((await hit("signin.ip", "198.51.100.1")).ok).toBe(false);
    await sleep(1100);
    expect((await hit("signin.ip", "198.51.100.1")).ok).toBe(true);
  });

  test("REST: token use per account gets 429 with Retry-After; the count reaches the database", async () => {
    limits("token.account=5/600");
    const codes: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await api.getProjectHandler(get(`/projects/${slug}`, admin));
      codes.push(res.status);
      if (res.status === 429) {
        expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
        expect(await res.json()).toMatchObject({
          error: { code: "rate_limited", message: /Too many API requests/ },
        });
      }
    }
    expect(codes).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    await sleep(200);
    const [row] = await t.prisma.$queryRawUnsafe<{ count: number }[]>(
      `SELECT count FROM "RateLimit" WHERE bucket = 'token.account' AND key = $1`,
      adminId,
    );
    expect(row!.count).toBe(5);
    // "another process" sees the shared count and refuses at once
    resetLocalRateCounts();
    limits("token.account=5/600");
    const first = await api.getProjectHandler(get(`/projects/${slug}`, admin));
    expect(first.status).toBe(200); // the first hit of a process syncs before it knows
    await sleep(200);
    expect((await api.getProjectHandler(get(`/projects/${slug}`, admin))).status).toBe(429);
  });

  test("REST: guessing tokens from one address gets 429; another address is not blocked", async () => {
    limits("token.invalid_ip=3/600");
    const codes: number[] = [];
    for (let i = 0; i < 5; i++)
      codes.push((await api.listProjectsHandler(get("/projects", `pw_guess_${i}`))).status);
    expect(codes).toEqual([401, 401, 401, 429, 429]);
    expect((await api.listProjectsHandler(get("/projects", "pw_guess_x", "192.0.2.9"))).status).toBe(401);
  });

  test("REST import: per account, with Retry-After", async () => {
    limits("import.account=2/3600");
    const codes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await api.importHandler(
        new Request(`http://pairwise.test/api/v1/projects/${slug}/import`, {
          method: "POST",
          headers: { authorization: `Bearer ${admin}`, "content-type": "application/x-ndjson" },
          body: `{"prompt":"rate limited prompt ${i}"}\n`,
        }),
      );
      codes.push(res.status);
      if (res.status === 429) {
        // the seconds to the end of the hour-long window (windows are aligned to the clock)
        const wait = Number(res.headers.get("retry-after"));
        expect(wait).toBeGreaterThan(0);
        expect(wait).toBeLessThanOrEqual(3600);
      }
    }
    expect(codes).toEqual([200, 200, 429]);
    expect(await t.prisma.prompt.count({ where: { text: { startsWith: "rate limited prompt" } } })).toBe(2);
  });

  test("tRPC: an over-limit token answers 429 with Retry-After (not 500)", async () => {
    // limit 0: the first request is already over (outside Next, a 401 here would need a session lookup)
    limits("token.invalid_ip=0/600");
    const trpc = ((await import("@/app/api/trpc/[trpc]/route")) as { GET: (r: Request) => Promise<Response> })
      .GET;
    const call = () =>
      trpc(
        new Request("http://pairwise.test/api/trpc/system.me", {
          headers: { authorization: "Bearer pw_nope_nope", "x-pairwise-client-ip": "203.0.113.50" },
        }),
      );
    const res = await call();
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
  });
});
