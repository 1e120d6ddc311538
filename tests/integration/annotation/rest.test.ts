// The annotator's REST loop (server/api/annotation.ts) with real Request objects against a real
// database, through the node-postgres executor (appSql) the web process uses: auth, validation,
// idempotent submits, expired leases, skip, and the overlap invariant under concurrency.
import { afterAll, beforeAll, expect, test } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../helpers/db";
import { createApiToken, revokeApiToken } from "@/server/auth/tokens";
import { closeAppSql } from "@/server/db/client";
import * as api from "@/server/api/annotation";
import { makeProject, makeUser } from "./fixtures";

const BASE = "http://pairwise.test/api/v1";
let t: TestDatabase;

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await closeAppSql();
  await t?.close();
});

function post(url: string, token: string | null, json: unknown): Request {
  return new Request(`${BASE}${url}`, {
    method: "POST",
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), "content-type": "application/json" },
    body: typeof json === "string" ? json : JSON.stringify(json),
  });
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read loosely shaped JSON bodies
async function body<T = Record<string, any>>(res: Response): Promise<T> {
  return (await res.json()) as T;
}
async function annotator(name: string, scopes: Array<"read" | "write"> = ["write"]) {
  const u = await makeUser(t.prisma, name);
  const { token, record } = await createApiToken({ userId: u.id, name, scopes });
  return { user: u, token, tokenId: record.id };
}

test("next → submit over REST: blind view, idempotent double submit, counters and pairs", async () => {
  const fx = await makeProject(t.prisma, { comparisons: 3, overlap: 1 });
  const project = await t.prisma.project.findUniqueOrThrow({ where: { id: fx.projectId } });
  const a = await annotator("Ada");

  const none = await api.annotationNextHandler(post(`/projects/${project.slug}/annotation/next`, null, {}));
  expect(none.status).toBe(401);
  const readOnly = await annotator("Reader", ["read"]);
  expect(
    (await api.annotationNextHandler(post(`/projects/${project.slug}/annotation/next`, readOnly.token, {})))
      .status,
  ).toBe(403);
  const missing = await api.annotationNextHandler(
    post(`/projects/no-such-project/annotation/next`, a.token, {}),
  );
  expect(missing.status).toBe(404);
  expect((await body(missing)).error.message).toMatch(/does not exist/);

  // by slug
  const res = await api.annotationNextHandler(post(`/projects/${project.slug}/annotation/next`, a.token, {}));
  expect(res.status).toBe(200);
  const lease = await body(res);
  expect(lease.kind).toBe("assignment");
  expect(lease.resumed).toBe(false);
  const view = lease.assignment;
  expect(fx.comparisonIds).toContain(view.comparisonId);
  expect(view.completions.map((c: { label: string }) => c.label)).toEqual(["A", "B"]);
  expect(JSON.stringify(view)).not.toMatch(/model-x|model-y/); // blind: no model names
  // asking again resumes the same lease (by id this time)
  const again = await body(
    await api.annotationNextHandler(post(`/projects/${fx.projectId}/annotation/next`, a.token, {})),
  );
  expect(again.resumed).toBe(true);
  expect(again.assignment.assignmentId).toBe(view.assignmentId);

  // malformed submits: the field and the reason
  const bad = await api.annotationSubmitHandler(
    post(`/annotation/submit`, a.token, {
      assignmentId: view.assignmentId,
      idempotencyKey: "short",
      answer: { kind: "pairwise", choice: "C" },
    }),
  );
  expect(bad.status).toBe(400);
  const badMsg = (await body(bad)).error.message as string;
  expect(badMsg).toMatch(/idempotencyKey/);
  expect(badMsg).toMatch(/answer/);
  const notJson = await api.annotationSubmitHandler(post(`/annotation/submit`, a.token, "{not json"));
  expect(notJson.status).toBe(400);
  expect((await body(notJson)).error.message).toMatch(/not valid JSON/);

  // a double click: two identical submits at once → one judgment, the same id twice
  const input = {
    assignmentId: view.assignmentId,
    idempotencyKey: `key-${view.assignmentId}`,
    answer: { kind: "pairwise", choice: "A", strength: 2 },
    timeSpentMs: 1200,
  };
  const [r1, r2] = await Promise.all([
    api.annotationSubmitHandler(post(`/annotation/submit`, a.token, input)),
    api.annotationSubmitHandler(post(`/annotation/submit`, a.token, input)),
  ]);
  expect([r1.status, r2.status]).toEqual([200, 200]);
  const [s1, s2] = [await body(r1), await body(r2)];
  expect(s1.judgmentId).toBe(s2.judgmentId);
  expect([s1.duplicate, s2.duplicate].sort()).toEqual([false, true]);
  // the same assignment with another key (a second tab): the first submission stands
  const tab = await body(
    await api.annotationSubmitHandler(
      post(`/annotation/submit`, a.token, {
        ...input,
        idempotencyKey: `other-${view.assignmentId}`,
        answer: { kind: "pairwise", choice: "B" },
      }),
    ),
  );
  expect(tab).toMatchObject({ judgmentId: s1.judgmentId, duplicate: true });

  const judgments = await t.prisma.judgment.findMany({ where: { comparisonId: view.comparisonId } });
  expect(judgments).toHaveLength(1);
  const shownA = view.completions[0].id as string;
  expect(judgments[0]).toMatchObject({
    userId: a.user.id,
    assignmentId: view.assignmentId,
    source: "human",
    verdict: { kind: "pairwise", outcome: "win", winnerId: shownA, strength: 2 },
  });
  expect(judgments[0]!.createdAt.getTime()).toBeGreaterThan(Date.now() - 60_000); // stored in UTC
  const c = await t.prisma.comparison.findUniqueOrThrow({ where: { id: view.comparisonId } });
  expect(c).toMatchObject({ status: "complete", judgmentCount: 1, leaseCount: 0, agreement: 1 });
  const pairs = await t.prisma.preferencePair.findMany({ where: { comparisonId: c.id, active: true } });
  expect(pairs).toHaveLength(1);
  expect(pairs[0]).toMatchObject({
    chosenId: shownA,
    margin: 2,
    weight: 1,
    origin: "human",
    judgmentIds: [judgments[0]!.id],
  });
  const assignment = await t.prisma.assignment.findUniqueOrThrow({ where: { id: view.assignmentId } });
  expect(assignment.status).toBe("submitted");
});

test("expired leases answer 410 plainly; skip gives the item back; a revoked token stops at once", async () => {
  const fx = await makeProject(t.prisma, { comparisons: 2, overlap: 1 });
  const a = await annotator("Bo");
  const lease = await body(
    await api.annotationNextHandler(post(`/projects/${fx.projectId}/annotation/next`, a.token, {})),
  );
  const id = lease.assignment.assignmentId as string;
  const hb = await api.annotationHeartbeatHandler(
    post(`/annotation/heartbeat`, a.token, { assignmentId: id }),
  );
  expect(hb.status).toBe(200);
  expect(new Date((await body(hb)).expiresAt).getTime()).toBeGreaterThan(Date.now());
  // expire it the way the sweep does
  await t.prisma.assignment.update({ where: { id }, data: { status: "expired", endedAt: new Date() } });
  await t.prisma.comparison.update({ where: { id: lease.assignment.comparisonId }, data: { leaseCount: 0 } });
  const late = await api.annotationSubmitHandler(
    post(`/annotation/submit`, a.token, {
      assignmentId: id,
      idempotencyKey: `late-${id}`,
      answer: { kind: "pairwise", choice: "tie" },
    }),
  );
  expect(late.status).toBe(410);
  expect((await body(late)).error.message).toMatch(/ran out/);
  expect(await t.prisma.judgment.count({ where: { assignmentId: id } })).toBe(0);

  const next = await body(
    await api.annotationNextHandler(post(`/projects/${fx.projectId}/annotation/next`, a.token, {})),
  );
  expect(next.kind).toBe("assignment");
  const skipped = await api.annotationSkipHandler(
    post(`/annotation/skip`, a.token, { assignmentId: next.assignment.assignmentId, reason: "not_sure" }),
  );
  expect(await body(skipped)).toEqual({ status: "skipped" });
  expect(
    (await t.prisma.comparison.findUniqueOrThrow({ where: { id: next.assignment.comparisonId } })).leaseCount,
  ).toBe(0);
  // nothing left for Bo (one expired, one skipped: never the same comparison twice)
  expect(
    await body(
      await api.annotationNextHandler(post(`/projects/${fx.projectId}/annotation/next`, a.token, {})),
    ),
  ).toEqual({ kind: "empty", reason: "all_done" });

  await revokeApiToken(a.tokenId);
  expect(
    (await api.annotationNextHandler(post(`/projects/${fx.projectId}/annotation/next`, a.token, {}))).status,
  ).toBe(401);
});

test("twelve annotators at once through the pg executor: exactly overlap judgments each, none lost, counters exact", async () => {
  const fx = await makeProject(t.prisma, { comparisons: 10, overlap: 3 });
  const people = await Promise.all(Array.from({ length: 12 }, (_, i) => annotator(`P${i}`)));
  const acknowledged = new Set<string>();
  await Promise.all(
    people.map(async (p, i) => {
      for (;;) {
        const lease = await body(
          await api.annotationNextHandler(post(`/projects/${fx.projectId}/annotation/next`, p.token, {})),
        );
        if (lease.kind !== "assignment") return;
        const input = {
          assignmentId: lease.assignment.assignmentId,
          idempotencyKey: `k-${lease.assignment.assignmentId}`,
          answer: { kind: "pairwise", choice: i % 3 === 0 ? "B" : "A" },
        };
        const sends = i % 4 === 0 ? [input, input] : [input]; // some double clicks
        const res = await Promise.all(
          sends.map((x) => api.annotationSubmitHandler(post(`/annotation/submit`, p.token, x))),
        );
        for (const r of res) expect(r.status).toBe(200);
        acknowledged.add((await body(res[0]!)).judgmentId);
      }
    }),
  );
  const judgments = await t.prisma.judgment.findMany({ where: { projectId: fx.projectId } });
  expect(judgments).toHaveLength(30); // 10 comparisons × overlap 3
  expect(new Set(judgments.map((j) => j.id))).toEqual(acknowledged);
  const byComparison = new Map<string, Set<string>>();
  for (const j of judgments)
    byComparison.set(j.comparisonId, (byComparison.get(j.comparisonId) ?? new Set()).add(j.userId!));
  for (const id of fx.comparisonIds) expect(byComparison.get(id)?.size).toBe(3); // 3 different people each
  const comparisons = await t.prisma.comparison.findMany({ where: { projectId: fx.projectId } });
  for (const c of comparisons) {
    expect(c.judgmentCount).toBe(3);
    expect(c.leaseCount).toBe(0);
    expect(["complete", "review"]).toContain(c.status);
  }
});
