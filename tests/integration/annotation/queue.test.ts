// The annotator queue against a real database (PGlite by default, PostgreSQL with TEST_DATABASE_URL).
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../helpers/db";
import {
  flagAssignment,
  heartbeat,
  leaseNext,
  resumeExpired,
  skipAssignment,
  sweepExpiredLeases,
  wantGold,
} from "@/server/annotation/queue";
import { createRng } from "@/server/stats";
import { makeProject, makeUser } from "./fixtures";

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => t?.close());

function assigned(r: Awaited<ReturnType<typeof leaseNext>>) {
  if (r.kind !== "assignment") throw new Error(`expected an assignment, got ${r.kind}/${r.reason}`);
  return r.assignment;
}

async function finish(assignmentId: string) {
  // Simulates a submit without the aggregation: the slot moves from lease to judgment.
  const a = await t.prisma.assignment.update({
    where: { id: assignmentId },
    data: { status: "submitted", endedAt: new Date() },
  });
  await t.prisma.comparison.update({
    where: { id: a.comparisonId },
    data: { leaseCount: { decrement: 1 }, judgmentCount: { increment: 1 } },
  });
}

describe("order", () => {
  test("priority first (highest), then oldest first; a held lease is resumed", async () => {
    const fx = await makeProject(t.prisma, { comparisons: 4, priorities: [0, 5, 0, 5] });
    const u = await makeUser(t.prisma, "Ann");
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      const a = assigned(await leaseNext(t.prisma, { projectId: fx.projectId, userId: u.id }));
      const again = await leaseNext(t.prisma, { projectId: fx.projectId, userId: u.id });
      expect(again.kind === "assignment" && again.resumed && again.assignment.assignmentId).toBe(
        a.assignmentId,
      );
      seen.push(a.comparisonId);
      await finish(a.assignmentId);
    }
    const c = fx.comparisonIds;
    expect(seen).toEqual([c[1], c[3], c[0], c[2]]);
    expect(await leaseNext(t.prisma, { projectId: fx.projectId, userId: u.id })).toEqual({
      kind: "empty",
      reason: "all_done",
    });
  });

  test("the view is blind: texts and positions, no model names; order is a permutation recorded on the assignment", async () => {
    const fx = await makeProject(t.prisma, { comparisons: 40, overlap: 1 });
    const u = await makeUser(t.prisma, "Blind");
    const rng = createRng(7);
    let firstIsCanonicalFirst = 0;
    for (let i = 0; i < 40; i++) {
      const a = assigned(
        await leaseNext(t.prisma, { projectId: fx.projectId, userId: u.id }, { random: rng }),
      );
      expect(JSON.stringify(a)).not.toMatch(/model-x|model-y/);
      expect(a.completions.map((c) => c.label)).toEqual(["A", "B"]);
      const canonical = fx.completions.get(a.comparisonId)!;
      expect([...a.completions.map((c) => c.id)].sort()).toEqual([...canonical].sort());
      const row = await t.prisma.assignment.findUniqueOrThrow({ where: { id: a.assignmentId } });
      expect(row.displayOrder).toEqual(a.completions.map((c) => c.id));
      if (row.displayOrder[0] === canonical[0]) firstIsCanonicalFirst++;
      await finish(a.assignmentId);
    }
    // both orders occur (40 fair coin flips: P(outside 8..32) < 1e-4)
    expect(firstIsCanonicalFirst).toBeGreaterThan(8);
    expect(firstIsCanonicalFirst).toBeLessThan(32);
  });
});

describe("overlap", () => {
  test("many annotators asking at once never exceed overlap, and nobody gets a comparison twice", async () => {
    const fx = await makeProject(t.prisma, { comparisons: 6, overlap: 2 });
    const users = await Promise.all(Array.from({ length: 16 }, (_, i) => makeUser(t.prisma, `U${i}`)));
    // Two rounds: lease at once, finish at once, lease again at once.
    for (let round = 0; round < 2; round++) {
      const results = await Promise.all(
        users.map((u) => leaseNext(t.prisma, { projectId: fx.projectId, userId: u.id })),
      );
      const got = results.filter((r) => r.kind === "assignment");
      await Promise.all(got.map((r) => finish(r.assignment.assignmentId)));
    }
    const rows = await t.prisma.comparison.findMany({ where: { projectId: fx.projectId } });
    for (const c of rows) {
      expect(c.judgmentCount + c.leaseCount).toBeLessThanOrEqual(2);
      expect(c.leaseCount).toBe(0);
    }
    expect(rows.reduce((s, c) => s + c.judgmentCount, 0)).toBe(12); // every slot filled exactly
    const pairs = await t.prisma.assignment.findMany({
      where: { projectId: fx.projectId },
      select: { comparisonId: true, userId: true },
    });
    expect(new Set(pairs.map((p) => `${p.comparisonId}/${p.userId}`)).size).toBe(pairs.length);
    expect(pairs.length).toBe(12);
  });

  test("a second annotator gets only what is still open", async () => {
    const fx = await makeProject(t.prisma, { comparisons: 3, overlap: 1 });
    const a = await makeUser(t.prisma, "First");
    const b = await makeUser(t.prisma, "Second");
    const first = assigned(await leaseNext(t.prisma, { projectId: fx.projectId, userId: a.id }));
    await finish(first.assignmentId);
    const held = assigned(await leaseNext(t.prisma, { projectId: fx.projectId, userId: a.id }));
    const got: string[] = [];
    for (;;) {
      const r = await leaseNext(t.prisma, { projectId: fx.projectId, userId: b.id });
      if (r.kind === "empty") break;
      got.push(r.assignment.comparisonId);
      await finish(r.assignment.assignmentId);
    }
    expect(got).toEqual(
      fx.comparisonIds.filter((id) => id !== first.comparisonId && id !== held.comparisonId),
    );
  });
});

describe("gold", () => {
  test("wantGold keeps the realised share within one item of the ratio", () => {
    const rng = createRng(3);
    let gold = 0;
    for (let served = 0; served < 200; served++) {
      if (wantGold(0.2, served, gold, rng)) gold++;
      expect(Math.abs(gold - 0.2 * (served + 1))).toBeLessThanOrEqual(1);
    }
    expect(wantGold(0, 10, 0, rng)).toBe(false);
  });

  test("gold items are served at the project's ratio and are exempt from overlap", async () => {
    const fx = await makeProject(t.prisma, { comparisons: 20, gold: 3, overlap: 1, goldRatio: 0.25 });
    const rng = createRng(11);
    for (const name of ["G1", "G2"]) {
      const u = await makeUser(t.prisma, name);
      const kinds: boolean[] = [];
      for (let i = 0; i < 8; i++) {
        const a = assigned(
          await leaseNext(t.prisma, { projectId: fx.projectId, userId: u.id }, { random: rng }),
        );
        kinds.push(fx.goldIds.includes(a.comparisonId));
        await finish(a.assignmentId);
      }
      expect(kinds.filter(Boolean).length).toBe(2); // 8 × 0.25
    }
    // both annotators saw gold items although overlap is 1
    const goldJudged = await t.prisma.comparison.findMany({
      where: { id: { in: fx.goldIds } },
      select: { judgmentCount: true },
    });
    expect(Math.max(...goldJudged.map((g) => g.judgmentCount))).toBe(2);
  });
});

describe("leases", () => {
  test("a lease times out, returns to the pool, and says so plainly; resume works while there is room", async () => {
    const fx = await makeProject(t.prisma, { comparisons: 1, overlap: 1, settings: { leaseSeconds: 60 } });
    const a = await makeUser(t.prisma, "Slow");
    const b = await makeUser(t.prisma, "Fast");
    const t0 = new Date("2026-02-01T10:00:00Z");
    const lease = assigned(await leaseNext(t.prisma, { projectId: fx.projectId, userId: a.id }, { now: t0 }));
    // a heartbeat extends it
    const hb = await heartbeat(
      t.prisma,
      { assignmentId: lease.assignmentId, userId: a.id },
      { now: new Date(t0.getTime() + 50_000) },
    );
    expect(hb.expiresAt).toBe(new Date(t0.getTime() + 110_000).toISOString());
    // b finds nothing while a holds it
    expect(
      (
        await leaseNext(
          t.prisma,
          { projectId: fx.projectId, userId: b.id },
          { now: new Date(t0.getTime() + 100_000) },
        )
      ).kind,
    ).toBe("empty");
    // past expiry: swept
    const later = new Date(t0.getTime() + 111_000);
    expect(await sweepExpiredLeases(t.prisma, { now: later })).toBe(1);
    expect(
      (await t.prisma.comparison.findUniqueOrThrow({ where: { id: fx.comparisonIds[0]! } })).leaseCount,
    ).toBe(0);
    await expect(
      heartbeat(t.prisma, { assignmentId: lease.assignmentId, userId: a.id }, { now: later }),
    ).rejects.toMatchObject({
      code: "gone",
      message: expect.stringMatching(/ran out/),
    });
    // a can take it back while nobody else did
    const resumed = await resumeExpired(
      t.prisma,
      { assignmentId: lease.assignmentId, userId: a.id },
      { now: later },
    );
    expect(resumed.kind === "assignment" && resumed.assignment.assignmentId).toBe(lease.assignmentId);
    // expire again; b takes it; now a cannot resume
    const later2 = new Date(later.getTime() + 61_000);
    const bl = assigned(
      await leaseNext(t.prisma, { projectId: fx.projectId, userId: b.id }, { now: later2 }),
    );
    expect(bl.comparisonId).toBe(fx.comparisonIds[0]);
    await expect(
      resumeExpired(t.prisma, { assignmentId: lease.assignmentId, userId: a.id }, { now: later2 }),
    ).rejects.toMatchObject({ code: "gone" });
  });

  test("skip releases the lease for others, never back to the same annotator", async () => {
    const fx = await makeProject(t.prisma, { comparisons: 2, overlap: 1 });
    const a = await makeUser(t.prisma, "Skipper");
    const b = await makeUser(t.prisma, "Other");
    const l1 = assigned(await leaseNext(t.prisma, { projectId: fx.projectId, userId: a.id }));
    await skipAssignment(t.prisma, { assignmentId: l1.assignmentId, userId: a.id, reason: "not_sure" });
    await skipAssignment(t.prisma, { assignmentId: l1.assignmentId, userId: a.id, reason: "not_sure" }); // retried: no-op
    const l2 = assigned(await leaseNext(t.prisma, { projectId: fx.projectId, userId: a.id }));
    expect(l2.comparisonId).not.toBe(l1.comparisonId);
    const lb = assigned(await leaseNext(t.prisma, { projectId: fx.projectId, userId: b.id }));
    expect(lb.comparisonId).toBe(l1.comparisonId);
    await expect(
      skipAssignment(t.prisma, { assignmentId: lb.assignmentId, userId: a.id, reason: "other" }),
    ).rejects.toMatchObject({ code: "not_found" });
  });

  test("flag takes the comparison out of every queue and records the reason", async () => {
    const fx = await makeProject(t.prisma, { comparisons: 1, overlap: 3 });
    const a = await makeUser(t.prisma, "Flagger");
    const b = await makeUser(t.prisma, "After");
    const l = assigned(await leaseNext(t.prisma, { projectId: fx.projectId, userId: a.id }));
    await expect(
      flagAssignment(t.prisma, { assignmentId: l.assignmentId, userId: a.id, flag: "private", reason: " " }),
    ).rejects.toMatchObject({ code: "bad_request" });
    await flagAssignment(t.prisma, {
      assignmentId: l.assignmentId,
      userId: a.id,
      flag: "private",
      reason: "contains a phone number",
    });
    const c = await t.prisma.comparison.findUniqueOrThrow({ where: { id: l.comparisonId } });
    expect(c.status).toBe("flagged");
    expect(c.leaseCount).toBe(0);
    expect((await leaseNext(t.prisma, { projectId: fx.projectId, userId: b.id })).kind).toBe("empty");
    const log = await t.prisma.auditLog.findFirstOrThrow({
      where: { action: "comparison.flag", target: l.comparisonId },
    });
    expect(log.data).toMatchObject({ flag: "private", reason: "contains a phone number" });
  });
});
