// The judge-vs-human report against hand-computed figures (worked out in the comments).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../helpers/db";
import { resetEnvForTests } from "@/server/env";
import { recordJudgment } from "@/server/data/judgments";
import { createJudgeConfig } from "@/server/judges/config";
import { humanReference, judgeAgreementReport, withoutNaN } from "@/server/judges/agreement";
import { makeProject, type Fixture } from "./fixtures";

let t: TestDatabase;
beforeAll(async () => {
  process.env.PAIRWISE_ENCRYPTION_KEY = "test-encryption-key-0123456789abcdef-xyz";
  resetEnvForTests();
  t = await createTestDatabase();
});
afterAll(async () => t?.close());

type S = "a" | "b" | "tie";
const verdict = (fx: Fixture, i: number, s: S) => {
  const p = fx.pairs[i]!;
  if (s === "tie") return { kind: "pairwise" as const, outcome: "tie" as const };
  return {
    kind: "pairwise" as const,
    outcome: "win" as const,
    winnerId: s === "a" ? p.a : p.b,
    loserId: s === "a" ? p.b : p.a,
    strength: 1 as const,
  };
};

describe("judgeAgreementReport", () => {
  it("matches hand-computed kappa, raw agreement and bias figures", async () => {
    // Lengths: odd items (1-based) have the longer answer first, even items second, item 10 equal.
    const fx = await makeProject(t.prisma, {
      n: 11,
      texts: (i) =>
        i === 9
          ? { a: "x".repeat(15), b: "y".repeat(15) }
          : (i + 1) % 2 === 1
            ? { a: "x".repeat(20), b: "y".repeat(10) }
            : { a: "x".repeat(10), b: "y".repeat(20) },
    });
    const humans = await Promise.all(
      [1, 2].map((k) =>
        t.prisma.user.create({ data: { email: `h${k}-${Date.now()}@x.org`, name: `h${k}` } }),
      ),
    );
    const cfg = await createJudgeConfig({
      projectId: fx.projectId,
      name: "j",
      kind: "llm",
      baseUrl: "http://127.0.0.1:1/v1",
      model: "m",
    });
    const other = await createJudgeConfig({
      projectId: fx.projectId,
      name: "other",
      kind: "llm",
      baseUrl: "http://127.0.0.1:1/v1",
      model: "m",
    });
    const run = await t.prisma.judgeRun.create({
      data: { judgeConfigId: cfg.id, judgeVersion: 1, projectId: fx.projectId, status: "succeeded" },
    });

    //            item:  1    2    3    4    5    6      7      8    9    10
    const ref: S[] = ["a", "a", "a", "b", "b", "b", "tie", "a", "b", "tie"];
    const judge: S[] = ["a", "a", "b", "b", "b", "tie", "tie", "a", "a", "b"];
    for (let i = 0; i < 10; i++) {
      await recordJudgment(t.prisma, {
        idempotencyKey: `h-${fx.projectId}-${i}`,
        comparisonId: fx.comparisonIds[i]!,
        origin: { kind: "human", userId: humans[0]!.id },
        verdict: verdict(fx, i, ref[i]!),
      });
      await recordJudgment(t.prisma, {
        idempotencyKey: `ai-${fx.projectId}-${i}`,
        comparisonId: fx.comparisonIds[i]!,
        origin: { kind: "ai", judgeConfigId: cfg.id, judgeRunId: run.id },
        verdict: verdict(fx, i, judge[i]!),
      });
      // another judge's verdicts must not leak in
      await recordJudgment(t.prisma, {
        idempotencyKey: `other-${fx.projectId}-${i}`,
        comparisonId: fx.comparisonIds[i]!,
        origin: { kind: "ai", judgeConfigId: other.id },
        verdict: verdict(fx, i, "b"),
      });
    }
    // item 11: the humans split 1-1, so it is left out
    await recordJudgment(t.prisma, {
      idempotencyKey: `h-${fx.projectId}-10a`,
      comparisonId: fx.comparisonIds[10]!,
      origin: { kind: "human", userId: humans[0]!.id },
      verdict: verdict(fx, 10, "a"),
    });
    await recordJudgment(t.prisma, {
      idempotencyKey: `h-${fx.projectId}-10b`,
      comparisonId: fx.comparisonIds[10]!,
      origin: { kind: "human", userId: humans[1]!.id },
      verdict: verdict(fx, 10, "b"),
    });
    await recordJudgment(t.prisma, {
      idempotencyKey: `ai-${fx.projectId}-10`,
      comparisonId: fx.comparisonIds[10]!,
      origin: { kind: "ai", judgeConfigId: cfg.id, judgeRunId: run.id },
      verdict: verdict(fx, 10, "a"),
    });

    // Calls in both orders on items 1-6: (AB, BA) = (A,B) (A,A) (B,A) (C,C) (A,C) (B,B)
    const calls: Array<[string, string]> = [
      ["A", "B"],
      ["A", "A"],
      ["B", "A"],
      ["C", "C"],
      ["A", "C"],
      ["B", "B"],
    ];
    for (let i = 0; i < calls.length; i++) {
      for (const [k, order] of (["AB", "BA"] as const).entries()) {
        await t.prisma.judgeAttempt.create({
          data: {
            runId: run.id,
            comparisonId: fx.comparisonIds[i]!,
            order,
            try: 1,
            status: "ok",
            verdict: calls[i]![k],
          },
        });
      }
    }
    // an unparseable call is not a vote
    await t.prisma.judgeAttempt.create({
      data: { runId: run.id, comparisonId: fx.comparisonIds[7]!, order: "AB", try: 1, status: "unparseable" },
    });

    const r = await judgeAgreementReport({ projectId: fx.projectId, judgeConfigId: cfg.id });

    // Contingency table (rows human a/b/tie, columns judge a/b/tie): [[3,1,0],[1,2,1],[0,1,1]], n = 10.
    // p_o = 6/10 = 0.6; marginals 4/4/2 both ways: p_e = (16+16+4)/100 = 0.36; kappa = 0.24/0.64 = 0.375.
    expect(r.overlap.n).toBe(10);
    expect(r.overlap.humansSplit).toBe(1);
    expect(r.overlap.agreement.withTies.table).toEqual([
      [3, 1, 0],
      [1, 2, 1],
      [0, 1, 1],
    ]);
    expect(r.overlap.rawAgreement).toBeCloseTo(0.6, 12);
    expect(r.overlap.agreement.withTies.kappa).toBeCloseTo(0.375, 12);
    // Decisive only: [[3,1],[1,2]], n = 7: p_o = 5/7, p_e = (4·4 + 3·3)/49 = 25/49, kappa = (10/49)/(24/49) = 5/12.
    expect(r.overlap.agreement.decisiveOnly.n).toBe(7);
    expect(r.overlap.agreement.decisiveOnly.kappa).toBeCloseTo(5 / 12, 12);
    expect(r.judgeJudgments).toBe(11);

    // Position: 12 calls, 3 ties (C,C and the C of (A,C)), so 9 decisive; first-shown wins:
    // (A,B): AB first won, BA second won -> 1; (A,A): 2; (B,A): 1; (A,C): 1; (B,B): 0 -> 5/9.
    expect(r.positionBias.calls).toBe(12);
    expect(r.positionBias.ties).toBe(3);
    expect(r.positionBias.firstWins.hits).toBe(5);
    expect(r.positionBias.firstWins.considered).toBe(9);
    expect(r.positionBias.firstWins.estimate).toBeCloseTo(5 / 9, 12);

    // Swap: 6 comparisons; inconsistent (A,A) (A,C) (B,B) = 3/6; same position (A,A) (B,B) = 2/6.
    expect(r.swap.comparisons).toBe(6);
    expect(r.swap.inconsistent.estimate).toBeCloseTo(0.5, 12);
    expect(r.swap.samePosition.estimate).toBeCloseTo(1 / 3, 12);

    // Length, judge (items 1-10; item 11 'a' is decisive with a longer too):
    // 1 a long-a hit, 2 a long-b miss, 3 b long-a miss, 4 b long-b hit, 5 b long-a miss, 8 a long-b miss,
    // 9 a long-a hit, 10 b equal, 11 a long-a hit -> 4/8, ties 2 (items 6, 7), equal 1.
    expect(r.lengthBias.judge.longerWins.hits).toBe(4);
    expect(r.lengthBias.judge.longerWins.considered).toBe(8);
    expect(r.lengthBias.judge.ties).toBe(2);
    expect(r.lengthBias.judge.equalLength).toBe(1);
    // Humans on the overlap (items 1-10): 1 hit, 2 miss, 3 hit, 4 hit, 5 miss, 6 hit, 8 miss, 9 miss -> 4/8; ties 2.
    expect(r.lengthBias.humansOnOverlap.longerWins.hits).toBe(4);
    expect(r.lengthBias.humansOnOverlap.longerWins.considered).toBe(8);
    expect(r.lengthBias.humansOnOverlap.ties).toBe(2);

    // an empty report serialises without NaN
    const empty = withoutNaN(
      await judgeAgreementReport({ projectId: fx.projectId, judgeConfigId: cfg.id, version: 7 }),
    );
    expect(empty.overlap.n).toBe(0);
    expect(empty.overlap.agreement.withTies.kappa).toBeNull();
  });

  it("takes an adjudication over the votes, and a strict majority otherwise", () => {
    const d = (s: number) => new Date(s);
    expect(
      humanReference([
        { source: "human", side: "a", createdAt: d(1) },
        { source: "human", side: "a", createdAt: d(2) },
        { source: "human", side: "b", createdAt: d(3) },
      ]),
    ).toBe("a");
    expect(
      humanReference([
        { source: "human", side: "a", createdAt: d(1) },
        { source: "human", side: "b", createdAt: d(2) },
      ]),
    ).toBe("split");
    expect(
      humanReference([
        { source: "human", side: "a", createdAt: d(1) },
        { source: "human", side: "b", createdAt: d(2) },
        { source: "adjudication", side: "tie", createdAt: d(3) },
      ]),
    ).toBe("tie");
    expect(humanReference([])).toBeNull();
  });
});
