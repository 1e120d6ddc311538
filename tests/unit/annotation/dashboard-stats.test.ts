// Dashboard aggregation against values computed by hand (see the comments for the arithmetic).
import { describe, expect, test } from "vitest";
import {
  annotatorStats,
  battles,
  pairRatings,
  projectAgreement,
  throughput,
  type VoteRow,
} from "@/server/annotation/dashboard-stats";
import type { Verdict } from "@/server/data/verdict";

const win = (w: string, l: string): Verdict => ({
  kind: "pairwise",
  outcome: "win",
  winnerId: w,
  loserId: l,
  strength: 1,
});
const tie: Verdict = { kind: "pairwise", outcome: "tie" };
let n = 0;
function row(
  userId: string,
  c: string,
  verdict: Verdict,
  displayOrder: string[],
  extra: Partial<VoteRow> = {},
): VoteRow {
  const ids = [`x${c}`, `y${c}`];
  return {
    judgmentId: `j${n++}`,
    comparisonId: `C${c}`,
    completionIds: ids,
    userId,
    verdict,
    displayOrder,
    timeSpentMs: 1000,
    isGoldCheck: false,
    goldCorrect: null,
    createdAt: new Date(Date.UTC(2026, 0, 1, 0, n)),
    ...extra,
  };
}

// C1: u1 +1, u2 +1, u3 0 · C2: u1 −1, u2 +1 · C3: u1 0, u2 0
const rows: VoteRow[] = [
  row("u1", "1", win("x1", "y1"), ["x1", "y1"], { timeSpentMs: 1000 }),
  row("u2", "1", win("x1", "y1"), ["y1", "x1"]),
  row("u3", "1", tie, ["x1", "y1"]),
  row("u1", "2", win("y2", "x2"), ["x2", "y2"], { timeSpentMs: 3000 }),
  row("u2", "2", win("x2", "y2"), ["y2", "x2"]),
  row("u1", "3", tie, ["y3", "x3"], { timeSpentMs: 2000, isGoldCheck: true, goldCorrect: true }),
  row("u2", "3", tie, ["x3", "y3"], { isGoldCheck: true, goldCorrect: false }),
];
const lengths = new Map([
  ["x1", 10],
  ["y1", 20],
  ["x2", 30],
  ["y2", 5],
  ["x3", 5],
  ["y3", 5],
]);

describe("project agreement", () => {
  test("ordinal Krippendorff's alpha over −1/0/+1 with varying raters", () => {
    // Coincidences (−1, 0, +1): C1 (m=3) adds ½ per ordered pair: o(1,1)=1, o(1,0)=o(0,1)=1;
    // C2: o(−1,1)=o(1,−1)=1; C3: o(0,0)=2. n_c = (1, 3, 3), n = 7.
    // Ordinal δ²: (−1,0) = ((1+3)/2)² = 4; (0,1) = ((3+3)/2)² = 9; (−1,1) = (7 − (1+3)/2)² = 25.
    // D_o = (2·25 + 2·9)/7 = 68/7; D_e = (2·1·3·4 + 2·3·3·9 + 2·1·3·25)/(7·6) = 336/42 = 8.
    // α = 1 − (68/7)/8 = −3/14.
    const a = projectAgreement(rows, 2);
    expect(a.alpha).toBeCloseTo(-3 / 14, 12);
    expect(a.alphaUnits).toBe(3);
    expect(a.alphaRatings).toBe(7);
  });

  test("Fleiss' kappa on the units with exactly `overlap` ratings", () => {
    // Units with 2 ratings: C2 counts (1,0,1) → P = 0; C3 (0,2,0) → P = 1; P̄ = ½.
    // p = (¼, ½, ¼) → P̄e = 6/16. κ = (½ − 3/8)/(1 − 3/8) = 0.2.
    const a = projectAgreement(rows, 2);
    expect(a.kappa).toBeCloseTo(0.2, 12);
    expect(a.kappaUnits).toBe(2);
    // raw agreement: C1 1/3 pairs, C2 0/1, C3 1/1 → 2/5
    expect(a.pairwiseAgreement).toBeCloseTo(0.4, 12);
    expect(projectAgreement(rows, 1).kappa).toBeNull();
  });
});

describe("per annotator", () => {
  const stats = new Map(annotatorStats(rows, lengths).map((s) => [s.userId, s]));
  test("items, median time, gold accuracy", () => {
    expect(stats.get("u1")).toMatchObject({
      items: 3,
      medianSeconds: 2,
      gold: { done: 1, correct: 1, accuracy: 1 },
    });
    expect(stats.get("u2")).toMatchObject({
      items: 3,
      medianSeconds: 1,
      gold: { done: 1, correct: 0, accuracy: 0 },
    });
    expect(stats.get("u3")!.gold.accuracy).toBeNull();
  });
  test("agreement with others", () => {
    // u1: C1 agrees with u2, not u3; C2 disagrees with u2; C3 agrees → 2/4
    expect(stats.get("u1")!.agreement).toEqual({ rate: 0.5, comparisons: 4 });
    expect(stats.get("u2")!.agreement).toEqual({ rate: 0.5, comparisons: 4 });
    expect(stats.get("u3")!.agreement).toEqual({ rate: 0, comparisons: 2 });
  });
  test("position bias: the left (first shown) side won", () => {
    // u1: C1 x1 shown first and won (hit); C2 y2 won, shown second; C3 tie → 1/2
    expect(stats.get("u1")!.positionBias).toMatchObject({ rate: 0.5, considered: 2 });
    // u2: both decisive winners were shown second → 0/2
    expect(stats.get("u2")!.positionBias).toMatchObject({ rate: 0, considered: 2 });
    expect(stats.get("u3")!.positionBias.rate).toBeNull();
  });
  test("length bias: the longer completion won", () => {
    // u1: x1 (10 < 20) won, y2 (5 < 30) won → 0/2; u2: x1 shorter, x2 (30 > 5) longer → 1/2
    expect(stats.get("u1")!.lengthBias).toMatchObject({ rate: 0, considered: 2 });
    expect(stats.get("u2")!.lengthBias).toMatchObject({ rate: 0.5, considered: 2 });
    // Wilson 95% interval for 1/2: centre (0.5 + 1.92/2)/(1 + 3.84/2) = 0.5; reported bounds bracket it
    expect(stats.get("u2")!.lengthBias.lower!).toBeLessThan(0.5);
    expect(stats.get("u2")!.lengthBias.upper!).toBeGreaterThan(0.5);
  });
});

describe("units of ranking verdicts", () => {
  test("every ranked pair is a unit; tied groups are 0; unranked completions are left out", () => {
    expect(pairRatings({ kind: "ranking", ranking: [["c"], ["a", "b"]] }, ["a", "b", "c"])).toEqual([
      { i: 0, j: 1, rating: 0 },
      { i: 0, j: 2, rating: -1 },
      { i: 1, j: 2, rating: -1 },
    ]);
    expect(pairRatings({ kind: "ranking", ranking: [["b"], ["a"]] }, ["a", "b", "c"])).toEqual([
      { i: 0, j: 1, rating: -1 },
    ]);
    expect(pairRatings({ kind: "pairwise", outcome: "both_bad" }, ["a", "b"])).toEqual([
      { i: 0, j: 1, rating: 0 },
    ]);
  });
});

describe("throughput and battles", () => {
  test("per local day, zero-filled, oldest first", () => {
    const now = new Date("2026-03-10T12:00:00Z");
    const dates = [
      new Date("2026-03-10T01:00:00Z"),
      new Date("2026-03-09T23:30:00Z"),
      new Date("2026-03-08T10:00:00Z"),
    ];
    expect(throughput(dates, { now, days: 3 })).toEqual([
      { day: "2026-03-08", count: 1 },
      { day: "2026-03-09", count: 1 },
      { day: "2026-03-10", count: 1 },
    ]);
    // UTC+2 (offset −120): 23:30 UTC on the 9th is the 10th locally
    expect(throughput(dates, { now, days: 2, tzOffsetMinutes: -120 })).toEqual([
      { day: "2026-03-09", count: 0 },
      { day: "2026-03-10", count: 2 },
    ]);
  });

  test("battles between sources; same-source pairs are skipped; ties stay ties", () => {
    const src = new Map([
      ["x1", "m1"],
      ["y1", "m2"],
      ["x2", "m1"],
      ["y2", "m2"],
      ["x3", "m1"],
      ["y3", "m1"],
    ]);
    expect(battles(rows, src)).toEqual([
      { a: "m1", b: "m2", winner: "a" },
      { a: "m1", b: "m2", winner: "a" },
      { a: "m1", b: "m2", winner: "tie" },
      { a: "m1", b: "m2", winner: "b" },
      { a: "m1", b: "m2", winner: "a" },
    ]);
  });
});
