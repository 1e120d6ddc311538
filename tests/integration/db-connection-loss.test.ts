// A terminated database connection retries the request's work instead of answering 500: the
// app's pools talk to the database through a TCP proxy that cuts every connection (as a restart,
// a network fault or pg_terminate_backend does), then the annotator's REST loop (node-postgres,
// autocommit and transactions) and Prisma reads run as if nothing happened.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { PrismaClient } from "@prisma/client";
import { createTestDatabase, type TestDatabase } from "../helpers/db";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy";
import { makeProject, makeUser } from "./annotation/fixtures";
import { createApiToken } from "@/server/auth/tokens";
import { closeAppSql, createPrisma, setDbForTests } from "@/server/db/client";
import { isConnectionError } from "@/server/db/sql";
import * as annotation from "@/server/api/annotation";
import * as api from "@/server/api/handlers";
import { handler } from "@/server/api/http";
import { z } from "zod";

let t: TestDatabase;
let proxy: TcpProxy;
let proxied: PrismaClient;
let token: string;
let slug: string;
let comparisonIds: string[];

beforeAll(async () => {
  t = await createTestDatabase();
  const u = await makeUser(t.prisma, "Ann");
  token = (await createApiToken({ userId: u.id, name: "t", scopes: ["write"] })).token;
  const fx = await makeProject(t.prisma, { comparisons: 12, overlap: 1 });
  comparisonIds = fx.comparisonIds;
  slug = (await t.prisma.project.findUniqueOrThrow({ where: { id: fx.projectId } })).slug;
  proxy = await startTcpProxy(t.url);
  // the process's clients (Prisma and the hot path's pool) go through the proxy
  proxied = createPrisma(proxy.url, { max: 4 });
  setDbForTests(proxied);
  process.env.DATABASE_URL = proxy.url;
  await closeAppSql();
});
afterAll(async () => {
  await closeAppSql();
  await proxied?.$disconnect();
  await proxy?.close();
  setDbForTests(t.prisma);
  await t?.close();
});

const post = (path: string, body?: unknown) =>
  new Request(`http://pairwise.test/api/v1${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body ?? {}),
  });
const get = (path: string) =>
  new Request(`http://pairwise.test/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } });

describe("lost database connections", () => {
  test("recognises connection errors, and only those", () => {
    expect(isConnectionError(new Error("Connection terminated unexpectedly"))).toBe(true);
    expect(
      isConnectionError({ code: "57P01", message: "terminating connection due to administrator command" }),
    ).toBe(true);
    expect(isConnectionError({ code: "ECONNREFUSED", message: "connect ECONNREFUSED" })).toBe(true);
    expect(isConnectionError({ message: "x", cause: { code: "08006" } })).toBe(true);
    expect(isConnectionError({ code: "23505", message: "duplicate key value" })).toBe(false);
    expect(isConnectionError(new Error("syntax error at or near"))).toBe(false);
  });

  test("a connection lost past the retries (or during COMMIT) answers a retryable 503, not a 500", async () => {
    const lost = handler(
      {
        operationId: "lost",
        method: "POST",
        path: "/lost",
        summary: "",
        tag: "t",
        scope: null,
        response: z.object({}),
      },
      () => Promise.reject(new Error("Connection terminated unexpectedly")),
    );
    const res = await lost(new Request("http://pairwise.test/api/v1/lost", { method: "POST" }));
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unavailable");
  });

  // Also the regression test of a crash: a pooled client checked out for a transaction has no
  // 'error' listener of pg-pool's, and its connection ending emitted an uncaught "Connection
  // terminated unexpectedly" (vitest fails the run on any uncaught error).
  test("after every connection is cut, next, submit, heartbeat and reads answer as usual", async () => {
    for (let round = 0; round < 4; round++) {
      // warm: the pools hold open connections
      const lease = await annotation.annotationNextHandler(post(`/projects/${slug}/annotation/next`));
      expect(lease.status).toBe(200);
      const leased = (await lease.json()) as {
        kind: string;
        assignment: { assignmentId: string; comparisonId: string };
      };
      expect(leased.kind).toBe("assignment");
      expect(proxy.cutAll()).toBeGreaterThan(0);
      // heartbeat (Prisma transaction? no: a Prisma read first) and a plain read
      const read = await api.getComparisonHandler(get(`/comparisons/${leased.assignment.comparisonId}`));
      expect(read.status).toBe(200);
      proxy.cutAll();
      // submit: one node-postgres transaction on a cut pool
      const submit = await annotation.annotationSubmitHandler(
        post("/annotation/submit", {
          assignmentId: leased.assignment.assignmentId,
          idempotencyKey: `round-${round}-key`,
          answer: { kind: "pairwise", choice: "A", strength: 1 },
        }),
      );
      const text = await submit.text();
      expect(submit.status, text).toBe(200);
      proxy.cutAll();
      // next again: autocommit statements on a cut pool
      const again = await annotation.annotationNextHandler(post(`/projects/${slug}/annotation/next`));
      expect(again.status).toBe(200);
      const a2 = (await again.json()) as { assignment: { assignmentId: string } };
      proxy.cutAll();
      const beat = await annotation.annotationHeartbeatHandler(
        post("/annotation/heartbeat", { assignmentId: a2.assignment.assignmentId }),
      );
      expect([200, 404]).toContain(beat.status);
      const skip = await annotation.annotationSkipHandler(
        post("/annotation/skip", { assignmentId: a2.assignment.assignmentId }),
      );
      expect(skip.status).toBeLessThan(500);
    }
    // every acknowledged judgment stored once
    const judgments = await t.prisma.judgment.findMany({ where: { comparisonId: { in: comparisonIds } } });
    expect(judgments.map((j) => j.idempotencyKey).sort()).toEqual(
      ["round-0-key", "round-1-key", "round-2-key", "round-3-key"].sort(),
    );
  });
});
