// Submitting judgments: display-order mapping, idempotency, expired leases, schema checks.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../helpers/db";
import { leaseNext, skipAssignment, sweepExpiredLeases, resumeExpired } from "@/server/annotation/queue";
import { submitJudgment } from "@/server/annotation/submit";
import { makeProject, makeUser } from "./fixtures";

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => t?.close());

async function lease(projectId: string, userId: string, now?: Date) {
  const r = await leaseNext(t.prisma, { projectId, userId }, { now });
  if (r.kind !== "assignment") throw new Error("expected an assignment");
  return r.assignment;
}

describe("verdicts", () => {
  test("A/B are mapped through the order shown, and the order is kept on the judgment", async () => {
    const fx = await makeProject(t.prisma, { comparisons: 2 });
    const u = await makeUser(t.prisma, "Mapper");
    for (const choice of ["A", "B"] as const) {
      const a = await lease(fx.projectId, u.id);
      const r = await submitJudgment(t.prisma, u.id, {
        assignmentId: a.assignmentId,
        idempotencyKey: `key-${a.assignmentId}`,
        answer: { kind: "pairwise", choice, strength: 2 },
      });
      const j = await t.prisma.judgment.findUniqueOrThrow({ where: { id: r.judgmentId } });
      const shown = a.completions.map((c) => c.id);
      const winner = choice === "A" ? shown[0] : shown[1];
      const loser = choice === "A" ? shown[1] : shown[0];
      expect(j.verdict).toEqual({
        kind: "pairwise",
        outcome: "win",
        winnerId: winner,
        loserId: loser,
        strength: 2,
      });
      expect(j.displayOrder).toEqual(shown);
      expect(j.source).toBe("human");
      expect(j.assignmentId).toBe(a.assignmentId);
      expect(r.revealed).toBeNull(); // blind by default
    }
  });

  test("schema rules: no tie when disallowed, rationale required, ratings in range", async () => {
    const fx = await makeProject(t.prisma, {
      comparisons: 1,
      labelSchema: {
        kind: "pairwise",
        allowTie: false,
        rationale: "required",
        axes: [{ key: "helpful", label: "Helpfulness", min: 1, max: 5 }],
      },
    });
    const u = await makeUser(t.prisma, "Strict");
    const a = await lease(fx.projectId, u.id);
    const [x, y] = a.completions.map((c) => c.id) as [string, string];
    const base = { assignmentId: a.assignmentId, idempotencyKey: `k-${a.assignmentId}` };
    await expect(
      submitJudgment(t.prisma, u.id, {
        ...base,
        answer: { kind: "pairwise", choice: "tie" },
        rationale: "same",
      }),
    ).rejects.toMatchObject({ code: "bad_request", message: expect.stringMatching(/does not allow ties/) });
    await expect(
      submitJudgment(t.prisma, u.id, { ...base, answer: { kind: "pairwise", choice: "A" }, rationale: "  " }),
    ).rejects.toMatchObject({ message: expect.stringMatching(/rationale/) });
    await expect(
      submitJudgment(t.prisma, u.id, {
        ...base,
        answer: { kind: "pairwise", choice: "A" },
        rationale: "clearer",
        ratings: { helpful: { [x]: 9 } },
      }),
    ).rejects.toMatchObject({ message: expect.stringMatching(/outside 1..5/) });
    await expect(
      submitJudgment(t.prisma, u.id, {
        ...base,
        answer: { kind: "pairwise", choice: "A" },
        rationale: "clearer",
        ratings: { style: { [x]: 3 } },
      }),
    ).rejects.toMatchObject({ message: expect.stringMatching(/Unknown rating axis/) });
    // nothing was written by the failed attempts
    expect(await t.prisma.judgment.count({ where: { comparisonId: a.comparisonId } })).toBe(0);
    const ok = await submitJudgment(t.prisma, u.id, {
      ...base,
      answer: { kind: "pairwise", choice: "B" },
      rationale: "clearer",
      ratings: { helpful: { [x]: 2, [y]: 5 } },
    });
    const j = await t.prisma.judgment.findUniqueOrThrow({ where: { id: ok.judgmentId } });
    expect(j.ratings).toEqual({ helpful: { [x]: 2, [y]: 5 } });
    expect(j.rationale).toBe("clearer");
  });

  test("ranking: ties and partial rankings only when the project allows them", async () => {
    const strict = await makeProject(t.prisma, {
      comparisons: 1,
      k: 3,
      labelSchema: { kind: "ranking", allowTies: false, allowPartial: false },
    });
    const u = await makeUser(t.prisma, "Ranker");
    const a = await lease(strict.projectId, u.id);
    const [p, q, r] = a.completions.map((c) => c.id) as [string, string, string];
    const base = { assignmentId: a.assignmentId, idempotencyKey: `rk-${a.assignmentId}` };
    await expect(
      submitJudgment(t.prisma, u.id, { ...base, answer: { kind: "ranking", ranking: [[p, q], [r]] } }),
    ).rejects.toMatchObject({ message: expect.stringMatching(/ties/) });
    await expect(
      submitJudgment(t.prisma, u.id, { ...base, answer: { kind: "ranking", ranking: [[p], [q]] } }),
    ).rejects.toMatchObject({ message: expect.stringMatching(/Rank all 3/) });
    await expect(
      submitJudgment(t.prisma, u.id, { ...base, answer: { kind: "ranking", ranking: [[p], ["nope"]] } }),
    ).rejects.toMatchObject({ message: expect.stringMatching(/not part/) });
    await expect(
      submitJudgment(t.prisma, u.id, { ...base, answer: { kind: "pairwise", choice: "A" } }),
    ).rejects.toMatchObject({ message: expect.stringMatching(/ranking/) });
    const ok = await submitJudgment(t.prisma, u.id, {
      ...base,
      answer: { kind: "ranking", ranking: [[r], [p], [q]] },
    });
    expect((await t.prisma.judgment.findUniqueOrThrow({ where: { id: ok.judgmentId } })).verdict).toEqual({
      kind: "ranking",
      ranking: [[r], [p], [q]],
    });

    const loose = await makeProject(t.prisma, { comparisons: 1, k: 3, labelSchema: { kind: "ranking" } });
    const b = await lease(loose.projectId, u.id);
    const [x, y] = b.completions.map((c) => c.id) as [string, string, string];
    const ok2 = await submitJudgment(t.prisma, u.id, {
      assignmentId: b.assignmentId,
      idempotencyKey: `rk2-${b.assignmentId}`,
      answer: { kind: "ranking", ranking: [[x, y]] },
    });
    expect((await t.prisma.judgment.findUniqueOrThrow({ where: { id: ok2.judgmentId } })).verdict).toEqual({
      kind: "ranking",
      ranking: [[x, y]],
    });
  });

  test("reasoning and final answer judged separately when the project asks", async () => {
    const fx = await makeProject(t.prisma, {
      comparisons: 2,
      labelSchema: { kind: "pairwise", judgeReasoningSeparately: true },
      texts: (i, j) => `<think>r${i}${j}</think>answer ${i}${j}`,
    });
    const u = await makeUser(t.prisma, "Thinker");
    const a = await lease(fx.projectId, u.id);
    const shown = a.completions.map((c) => c.id);
    const r = await submitJudgment(t.prisma, u.id, {
      assignmentId: a.assignmentId,
      idempotencyKey: `th-${a.assignmentId}`,
      answer: { kind: "pairwise", choice: "A" },
      reasoningAnswer: { kind: "pairwise", choice: "B", strength: 2 },
    });
    const j = await t.prisma.judgment.findUniqueOrThrow({ where: { id: r.judgmentId } });
    expect(j.verdict).toMatchObject({ outcome: "win", winnerId: shown[0] });
    expect(j.metadata).toEqual({
      reasoningVerdict: {
        kind: "pairwise",
        outcome: "win",
        winnerId: shown[1],
        loserId: shown[0],
        strength: 2,
      },
    });
    const plain = await makeProject(t.prisma, { comparisons: 1 });
    const b = await lease(plain.projectId, u.id);
    await expect(
      submitJudgment(t.prisma, u.id, {
        assignmentId: b.assignmentId,
        idempotencyKey: `th-${b.assignmentId}`,
        answer: { kind: "pairwise", choice: "A" },
        reasoningAnswer: { kind: "pairwise", choice: "A" },
      }),
    ).rejects.toMatchObject({ code: "bad_request", message: expect.stringMatching(/reasoning separately/) });
  });

  test("gold checks are graded; model names revealed after the vote when the project says so", async () => {
    const fx = await makeProject(t.prisma, {
      comparisons: 0,
      gold: 2,
      goldRatio: 1,
      settings: { revealModelsAfterVote: true },
    });
    const u = await makeUser(t.prisma, "Golden");
    const results: Array<boolean | null> = [];
    for (let i = 0; i < 2; i++) {
      const a = await lease(fx.projectId, u.id);
      const canonicalWinner = fx.completions.get(a.comparisonId)![0]!;
      const pos = a.completions.findIndex((c) => c.id === canonicalWinner);
      const correctChoice = pos === 0 ? "A" : "B";
      const choice = i === 0 ? correctChoice : correctChoice === "A" ? "B" : "A";
      const r = await submitJudgment(t.prisma, u.id, {
        assignmentId: a.assignmentId,
        idempotencyKey: `g-${a.assignmentId}`,
        answer: { kind: "pairwise", choice },
      });
      expect(r.revealed?.map((x) => x.label)).toEqual(["A", "B"]);
      expect(r.revealed?.find((x) => x.completionId === canonicalWinner)?.modelName).toBe("model-x");
      const j = await t.prisma.judgment.findUniqueOrThrow({ where: { id: r.judgmentId } });
      expect(j.isGoldCheck).toBe(true);
      results.push(j.goldCorrect);
    }
    expect(results).toEqual([true, false]);
  });
});

describe("safety", () => {
  test("a double click or a retried request never makes a second judgment", async () => {
    const fx = await makeProject(t.prisma, { comparisons: 1, overlap: 2 });
    const u = await makeUser(t.prisma, "Clicker");
    const a = await lease(fx.projectId, u.id);
    const input = {
      assignmentId: a.assignmentId,
      idempotencyKey: `dbl-${a.assignmentId}`,
      answer: { kind: "pairwise" as const, choice: "A" as const },
    };
    const results = await Promise.all([1, 2, 3, 4].map(() => submitJudgment(t.prisma, u.id, input)));
    expect(new Set(results.map((r) => r.judgmentId)).size).toBe(1);
    expect(results.filter((r) => !r.duplicate).length).toBe(1);
    // another key for the same assignment (a second tab): still the first judgment
    const other = await submitJudgment(t.prisma, u.id, {
      ...input,
      idempotencyKey: `tab2-${a.assignmentId}`,
    });
    expect(other).toMatchObject({ judgmentId: results[0]!.judgmentId, duplicate: true });
    // the assignment belongs to its annotator, and a key to one submission
    const v = await makeUser(t.prisma, "Thief");
    await expect(submitJudgment(t.prisma, v.id, input)).rejects.toMatchObject({ code: "not_found" });
    const own = await lease(fx.projectId, v.id);
    await expect(
      submitJudgment(t.prisma, v.id, { ...input, assignmentId: own.assignmentId }),
    ).rejects.toMatchObject({ code: "conflict" });
    expect((await t.prisma.assignment.findUniqueOrThrow({ where: { id: own.assignmentId } })).status).toBe(
      "active",
    ); // rolled back
    expect(await t.prisma.judgment.count({ where: { comparisonId: a.comparisonId } })).toBe(1);
    const c = await t.prisma.comparison.findUniqueOrThrow({ where: { id: a.comparisonId } });
    expect(c).toMatchObject({ judgmentCount: 1, leaseCount: 1, status: "open" }); // the thief's own lease is still held
  });

  test("an expired lease is refused plainly; after resuming, the draft can still be submitted", async () => {
    const fx = await makeProject(t.prisma, { comparisons: 1, settings: { leaseSeconds: 60 } });
    const u = await makeUser(t.prisma, "Late");
    const t0 = new Date(Date.now() - 10 * 60_000);
    const a = await lease(fx.projectId, u.id, t0);
    await sweepExpiredLeases(t.prisma);
    const input = {
      assignmentId: a.assignmentId,
      idempotencyKey: `late-${a.assignmentId}`,
      answer: { kind: "pairwise" as const, choice: "B" as const },
      rationale: "typed before lunch",
    };
    await expect(submitJudgment(t.prisma, u.id, input)).rejects.toMatchObject({
      code: "gone",
      message: expect.stringMatching(/ran out.*kept on this device/),
    });
    await resumeExpired(t.prisma, { assignmentId: a.assignmentId, userId: u.id });
    const r = await submitJudgment(t.prisma, u.id, input);
    expect(r.duplicate).toBe(false);
    const j = await t.prisma.judgment.findUniqueOrThrow({ where: { id: r.judgmentId } });
    expect(j.rationale).toBe("typed before lunch");
    expect(j.timeSpentMs).toBeGreaterThanOrEqual(10 * 60_000 - 1000); // no client time given: the lease's age
  });

  test("skipped items cannot be judged; client time is capped by the lease's age", async () => {
    const fx = await makeProject(t.prisma, { comparisons: 2 });
    const u = await makeUser(t.prisma, "Skip");
    const a = await lease(fx.projectId, u.id);
    await skipAssignment(t.prisma, { assignmentId: a.assignmentId, userId: u.id, reason: "not_sure" });
    await expect(
      submitJudgment(t.prisma, u.id, {
        assignmentId: a.assignmentId,
        idempotencyKey: `s-${a.assignmentId}`,
        answer: { kind: "pairwise", choice: "A" },
      }),
    ).rejects.toMatchObject({ code: "conflict" });
    const b = await lease(fx.projectId, u.id);
    const r = await submitJudgment(t.prisma, u.id, {
      assignmentId: b.assignmentId,
      idempotencyKey: `s-${b.assignmentId}`,
      answer: { kind: "pairwise", choice: "A" },
      timeSpentMs: 86_400_000,
    });
    const j = await t.prisma.judgment.findUniqueOrThrow({ where: { id: r.judgmentId } });
    expect(j.timeSpentMs).toBeLessThan(60_000);
  });

  test("many annotators judging at once: exactly overlap judgments per comparison, none lost", async () => {
    const fx = await makeProject(t.prisma, { comparisons: 8, overlap: 3 });
    const users = await Promise.all(Array.from({ length: 10 }, (_, i) => makeUser(t.prisma, `Crowd${i}`)));
    let submitted = 0;
    await Promise.all(
      users.map(async (u) => {
        for (;;) {
          const r = await leaseNext(t.prisma, { projectId: fx.projectId, userId: u.id });
          if (r.kind === "empty") return;
          const input = {
            assignmentId: r.assignment.assignmentId,
            idempotencyKey: `c-${r.assignment.assignmentId}`,
            answer: { kind: "pairwise" as const, choice: "A" as const },
          };
          await submitJudgment(t.prisma, u.id, input);
          await submitJudgment(t.prisma, u.id, input); // a retry
          submitted++;
        }
      }),
    );
    expect(submitted).toBe(24);
    const rows = await t.prisma.comparison.findMany({ where: { projectId: fx.projectId } });
    expect(rows.every((c) => c.judgmentCount === 3 && c.leaseCount === 0 && c.status !== "open")).toBe(true);
    const judgments = await t.prisma.judgment.groupBy({
      by: ["comparisonId"],
      where: { projectId: fx.projectId },
      _count: { _all: true },
    });
    expect(judgments.map((g) => g._count._all)).toEqual(Array(8).fill(3));
  });
});
