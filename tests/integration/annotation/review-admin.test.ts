// Review (adjudication through recordJudgment), people (invites, roles) and the dashboard loader.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../helpers/db";
import { leaseNext, flagAssignment } from "@/server/annotation/queue";
import { submitJudgment } from "@/server/annotation/submit";
import { adjudicate, reopenFlagged, reviewItem, reviewQueue } from "@/server/annotation/review";
import { acceptInvite, createInvite, inviteInfo, setActive, setRole } from "@/server/annotation/people";
import { leaderboard, projectDashboard } from "@/server/annotation/dashboard";
import { makeProject, makeUser } from "./fixtures";

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => t?.close());

async function judge(
  projectId: string,
  userId: string,
  pick: (ids: string[]) => "A" | "B" | "tie",
  rationale?: string,
) {
  const r = await leaseNext(t.prisma, { projectId, userId });
  if (r.kind !== "assignment") throw new Error("nothing to judge");
  const shown = r.assignment.completions.map((c) => c.id);
  await submitJudgment(t.prisma, userId, {
    assignmentId: r.assignment.assignmentId,
    idempotencyKey: `k-${r.assignment.assignmentId}`,
    answer: { kind: "pairwise", choice: pick(shown) },
    rationale,
  });
  return r.assignment.comparisonId;
}

describe("review", () => {
  test("a split vote goes to review; the reviewer sees votes and rationales, rules, and pairs appear", async () => {
    const fx = await makeProject(t.prisma, { comparisons: 1, overlap: 2 });
    const [x, y] = [...fx.completions.values()][0]!;
    const u1 = await makeUser(t.prisma, "Uno");
    const u2 = await makeUser(t.prisma, "Dos");
    const rev = await makeUser(t.prisma, "Rev", "reviewer");
    // u1 prefers x, u2 prefers y: no majority
    await judge(fx.projectId, u1.id, (ids) => (ids[0] === x ? "A" : "B"), "x is right");
    await judge(fx.projectId, u2.id, (ids) => (ids[0] === y ? "A" : "B"), "y reads better");
    const q = await reviewQueue(t.prisma, { projectId: fx.projectId });
    expect(q.items.map((i) => i.id)).toEqual(fx.comparisonIds);
    expect(q.counts.review).toBe(1);
    const item = await reviewItem(t.prisma, fx.comparisonIds[0]!);
    expect(item.completions.map((c) => c.id)).toEqual([x, y]);
    expect(item.judgments.map((j) => [j.by, j.verdict, j.rationale])).toEqual([
      ["Uno", "A slightly better than B", "x is right"],
      ["Dos", "B slightly better than A", "y reads better"],
    ]);
    expect(
      await t.prisma.preferencePair.count({ where: { comparisonId: fx.comparisonIds[0]!, active: true } }),
    ).toBe(0);
    const input = {
      comparisonId: fx.comparisonIds[0]!,
      idempotencyKey: `adj-${fx.comparisonIds[0]}`,
      answer: { kind: "pairwise" as const, choice: "B" as const, strength: 2 as const },
      rationale: "y is correct",
    };
    const r = await adjudicate(t.prisma, rev.id, input);
    expect(r).toMatchObject({ created: true, status: "adjudicated" });
    expect((await adjudicate(t.prisma, rev.id, input)).created).toBe(false); // a retry
    const pairs = await t.prisma.preferencePair.findMany({
      where: { comparisonId: fx.comparisonIds[0]!, active: true },
    });
    expect(pairs.map((p) => [p.chosenId, p.rejectedId])).toEqual([[y, x]]);
    const j = await t.prisma.judgment.findUniqueOrThrow({ where: { id: r.judgmentId } });
    expect(j).toMatchObject({ source: "adjudication", userId: rev.id, rationale: "y is correct" });
    expect((await reviewQueue(t.prisma, { projectId: fx.projectId })).items).toEqual([]);
  });

  test("flagged items wait for a reviewer, who can put them back in the queue", async () => {
    const fx = await makeProject(t.prisma, { comparisons: 1, overlap: 1 });
    const u = await makeUser(t.prisma, "Flag");
    const rev = await makeUser(t.prisma, "Rev2", "reviewer");
    const r = await leaseNext(t.prisma, { projectId: fx.projectId, userId: u.id });
    if (r.kind !== "assignment") throw new Error();
    await flagAssignment(t.prisma, {
      assignmentId: r.assignment.assignmentId,
      userId: u.id,
      flag: "broken",
      reason: "empty completion",
    });
    const q = await reviewQueue(t.prisma, { projectId: fx.projectId, status: "flagged" });
    expect(q.items.map((i) => i.status)).toEqual(["flagged"]);
    const item = await reviewItem(t.prisma, fx.comparisonIds[0]!);
    expect(item.flags).toMatchObject([{ by: "Flag", flag: "broken", reason: "empty completion" }]);
    expect(await reopenFlagged(t.prisma, rev.id, { comparisonId: fx.comparisonIds[0]! })).toEqual({
      status: "open",
    });
    const other = await makeUser(t.prisma, "Next");
    expect((await leaseNext(t.prisma, { projectId: fx.projectId, userId: other.id })).kind).toBe(
      "assignment",
    );
  });
});

describe("people", () => {
  test("invite by link: accept once, with name and password; the role comes from the invite", async () => {
    const admin = await makeUser(t.prisma, "Boss", "admin");
    const inv = await createInvite(t.prisma, admin.id, { email: "New@Example.com", role: "reviewer" });
    expect(inv.path).toBe(`/invite/${inv.token}`);
    expect(await inviteInfo(t.prisma, inv.token)).toEqual({
      valid: true,
      email: "new@example.com",
      role: "reviewer",
    });
    expect((await inviteInfo(t.prisma, "not-a-real-token-123")).valid).toBe(false);
    await expect(
      acceptInvite(t.prisma, { token: inv.token, name: "New", password: "short" }),
    ).rejects.toMatchObject({ code: "bad_request" });
    const [a, b] = await Promise.allSettled([
      acceptInvite(t.prisma, { token: inv.token, name: "New Person", password: "long-enough-1" }),
      acceptInvite(t.prisma, { token: inv.token, name: "Twice", password: "long-enough-2" }),
    ]);
    expect([a.status, b.status].sort()).toEqual(["fulfilled", "rejected"]);
    const user = await t.prisma.user.findUniqueOrThrow({
      where: { email: "new@example.com" },
      select: { name: true, role: true, passwordHash: true },
    });
    expect(user.role).toBe("reviewer");
    expect(user.passwordHash).toMatch(/^\$2[aby]\$/);
    expect(await inviteInfo(t.prisma, inv.token)).toMatchObject({
      valid: false,
      reason: expect.stringMatching(/already been used/),
    });
    // the stored token is a hash
    expect(await t.prisma.invite.count({ where: { tokenHash: inv.token } })).toBe(0);
  });

  test("roles and deactivation keep at least one admin; deactivation frees leases", async () => {
    const only = await t.prisma.user.findMany({ where: { role: "admin" } });
    for (const u of only) await t.prisma.user.update({ where: { id: u.id }, data: { role: "annotator" } });
    const admin = await makeUser(t.prisma, "Solo", "admin");
    await expect(setRole(t.prisma, admin.id, { userId: admin.id, role: "annotator" })).rejects.toMatchObject({
      code: "conflict",
    });
    await expect(setActive(t.prisma, admin.id, { userId: admin.id, active: false })).rejects.toMatchObject({
      code: "conflict",
    });
    const fx = await makeProject(t.prisma, { comparisons: 1 });
    const worker = await makeUser(t.prisma, "Leaver");
    const r = await leaseNext(t.prisma, { projectId: fx.projectId, userId: worker.id });
    expect(r.kind).toBe("assignment");
    await setActive(t.prisma, admin.id, { userId: worker.id, active: false });
    const c = await t.prisma.comparison.findUniqueOrThrow({ where: { id: fx.comparisonIds[0]! } });
    expect(c.leaseCount).toBe(0);
    expect((await t.prisma.user.findUniqueOrThrow({ where: { id: worker.id } })).active).toBe(false);
  });
});

describe("dashboard and leaderboard", () => {
  test("counts, agreement and per-annotator figures from the database; BT leaderboard by source", async () => {
    const fx = await makeProject(t.prisma, { comparisons: 6, overlap: 2, models: ["strong", "weak"] });
    const u1 = await makeUser(t.prisma, "D1");
    const u2 = await makeUser(t.prisma, "D2");
    // Both prefer the "strong" model's completion (canonical index 0), except u2 once.
    const strong = new Set([...fx.completions.values()].map((ids) => ids[0]!));
    const pickStrong = (flip: boolean) => (shown: string[]) => (strong.has(shown[0]!) !== flip ? "A" : "B");
    for (let i = 0; i < 6; i++) await judge(fx.projectId, u1.id, pickStrong(false));
    for (let i = 0; i < 6; i++) await judge(fx.projectId, u2.id, pickStrong(i === 0));
    const d = await projectDashboard(t.prisma, fx.projectId);
    expect(d.summary?.judgments.human).toBe(12);
    expect(d.summary?.comparisons.complete).toBe(5);
    expect(d.summary?.comparisons.review).toBe(1);
    expect(d.throughput.at(-1)!.count).toBe(12);
    // units: 6, each rated by both; 5 agree (+1,+1), one (+1,−1). Raw agreement 5/6.
    expect(d.agreement.pairwiseAgreement).toBeCloseTo(5 / 6, 12);
    expect(d.agreement.kappaUnits).toBe(6);
    const byName = new Map(d.annotators.map((a) => [a.name, a]));
    expect(byName.get("D1")!.agreement.rate).toBeCloseTo(5 / 6, 12);
    expect(byName.get("D1")!.items).toBe(6);
    const lb = await leaderboard(t.prisma, fx.projectId);
    expect(lb.battles).toBe(12);
    expect(lb.rows.map((r) => r.source)).toEqual(["strong", "weak"]);
    expect(lb.rows[0]).toMatchObject({ wins: 11, losses: 1, ties: 0 });
    // R = 400·θ + 1000 with mean θ = 0: ratings symmetric around 1000, p(strong) = 11/12
    expect(lb.rows[0]!.rating + lb.rows[1]!.rating).toBeCloseTo(2000, 6);
    expect(lb.rows[0]!.rating - lb.rows[1]!.rating).toBeCloseTo(400 * Math.log10(11), 6);
    expect(lb.rows[0]!.lower).toBeLessThanOrEqual(lb.rows[0]!.rating);
    expect(lb.rows[0]!.upper).toBeGreaterThanOrEqual(lb.rows[0]!.rating);
  });
});
