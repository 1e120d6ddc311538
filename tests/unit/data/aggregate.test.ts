// Aggregation rule, checked against pairs worked out by hand.
import { describe, expect, test } from "vitest";
import {
  aggregate,
  matchesGold,
  verdictVotes,
  type AggregationSettings,
  type JudgmentVote,
} from "@/server/data/aggregate";
import type { Verdict } from "@/server/data/verdict";

const majority: AggregationSettings = {
  overlap: 1,
  consensusRule: "majority",
  aiCountsTowardConsensus: false,
  reviewAgreementBelow: 0.5,
  weightByStrength: true,
};
let seq = 0;
function vote(
  verdict: Verdict,
  source: JudgmentVote["source"] = "human",
  extra: Partial<JudgmentVote> = {},
): JudgmentVote {
  seq++;
  return { id: `j${seq}`, source, verdict, createdAt: new Date(1_700_000_000_000 + seq * 1000), ...extra };
}
const win = (w: string, l: string, strength: 1 | 2 = 1): Verdict => ({
  kind: "pairwise",
  outcome: "win",
  winnerId: w,
  loserId: l,
  strength,
});
const rank = (...groups: string[][]): Verdict => ({ kind: "ranking", ranking: groups });
const simple = (pairs: Array<{ chosenId: string; rejectedId: string; margin: number; weight: number }>) =>
  pairs.map((p) => `${p.chosenId}>${p.rejectedId} m=${p.margin} w=${+p.weight.toFixed(6)}`).sort();

describe("K-way rankings", () => {
  test("a strict 4-way ranking yields all 6 ordered pairs, margin = group distance, weight 1/6", () => {
    const r = aggregate(["a", "b", "c", "d"], [vote(rank(["b"], ["d"], ["a"], ["c"]))], majority);
    expect(r.status).toBe("complete");
    // by hand: b>d (1), b>a (2), b>c (3), d>a (1), d>c (2), a>c (1)
    expect(simple(r.pairs)).toEqual(
      ["b>d m=1", "b>a m=2", "b>c m=3", "d>a m=1", "d>c m=2", "a>c m=1"]
        .map((s) => `${s} w=${+(1 / 6).toFixed(6)}`)
        .sort(),
    );
    expect(
      r.pairs.every((p) => p.agreement === 1 && p.judgmentIds.length === 1 && p.origin === "human"),
    ).toBe(true);
  });

  test("tied groups give no pair between their members; a partial ranking skips unranked completions", () => {
    const tied = aggregate(["a", "b", "c", "d"], [vote(rank(["a", "b"], ["c"], ["d"]))], majority);
    // by hand: a>c 1, a>d 2, b>c 1, b>d 2, c>d 1 — 5 pairs of weight 1/5, no a/b pair
    expect(simple(tied.pairs)).toEqual(
      ["a>c m=1", "a>d m=2", "b>c m=1", "b>d m=2", "c>d m=1"].map((s) => `${s} w=0.2`).sort(),
    );
    const partial = aggregate(["a", "b", "c"], [vote(rank(["c"], ["a"]))], majority);
    expect(simple(partial.pairs)).toEqual(["c>a m=1 w=1"]);
  });

  test("three annotators ranking 3 completions: per-pair majority, agreement per pair", () => {
    const s = { ...majority, overlap: 3 };
    const js = [
      vote(rank(["a"], ["b"], ["c"])),
      vote(rank(["a"], ["c"], ["b"])),
      vote(rank(["b"], ["a"], ["c"])),
    ];
    const r = aggregate(["a", "b", "c"], js, s);
    // a vs b: a,a,b -> a (2/3), margins 1 and 2 -> 1.5 ; a vs c: a,a,a -> a (3/3), margins 2,1,1 -> 4/3 ; b vs c: b,c,b -> b (2/3), margins 1,2 -> 1.5
    expect(r.status).toBe("complete");
    const byKey = Object.fromEntries(r.pairs.map((p) => [`${p.chosenId}>${p.rejectedId}`, p]));
    expect(Object.keys(byKey).sort()).toEqual(["a>b", "a>c", "b>c"]);
    expect(byKey["a>b"]!.agreement).toBeCloseTo(2 / 3);
    expect(byKey["a>b"]!.margin).toBeCloseTo(1.5);
    expect(byKey["a>c"]!.agreement).toBe(1);
    expect(byKey["a>c"]!.margin).toBeCloseTo(4 / 3);
    expect(byKey["b>c"]!.margin).toBeCloseTo(1.5);
    expect(r.agreement).toBeCloseTo((2 / 3 + 1 + 2 / 3) / 3);
    expect(r.pairs.every((p) => Math.abs(p.weight - 1 / 3) < 1e-12 && p.judgmentIds.length === 3)).toBe(true);
  });
});

describe("pairwise consensus", () => {
  test("waits for overlap, then majority wins; margin = mean strength of the agreeing votes", () => {
    const s = { ...majority, overlap: 3 };
    const j1 = vote(win("a", "b", 2));
    const j2 = vote(win("b", "a", 1));
    expect(aggregate(["a", "b"], [j1, j2], s)).toMatchObject({ status: "open", pairs: [], judgmentCount: 2 });
    const j3 = vote(win("a", "b", 1));
    const r = aggregate(["a", "b"], [j1, j2, j3], s);
    expect(r.status).toBe("complete");
    expect(r.pairs).toHaveLength(1);
    expect(r.pairs[0]).toMatchObject({
      chosenId: "a",
      rejectedId: "b",
      margin: 1.5,
      weight: 1,
      judgmentIds: [j1.id, j2.id, j3.id],
    });
    expect(r.pairs[0]!.agreement).toBeCloseTo(2 / 3);
  });

  test("ties and both-bad never become pairs", () => {
    for (const outcome of ["tie", "both_bad"] as const) {
      const r = aggregate(["a", "b"], [vote({ kind: "pairwise", outcome })], majority);
      expect(r).toMatchObject({ status: "complete", pairs: [], agreement: 1 });
    }
  });

  test("a split vote goes to review with no pairs", () => {
    const r = aggregate(["a", "b"], [vote(win("a", "b")), vote(win("b", "a"))], { ...majority, overlap: 2 });
    expect(r).toMatchObject({ status: "review", pairs: [], agreement: 0.5 });
  });

  test("AI judgments count only when the project says so", () => {
    const ai = vote(win("a", "b"), "ai");
    expect(aggregate(["a", "b"], [ai], majority)).toMatchObject({ status: "open", judgmentCount: 0 });
    const r = aggregate(["a", "b"], [ai], { ...majority, aiCountsTowardConsensus: true });
    expect(r.status).toBe("complete");
    expect(r.pairs[0]!.origin).toBe("ai");
    const mixed = aggregate(["a", "b"], [ai, vote(win("a", "b"))], {
      ...majority,
      overlap: 2,
      aiCountsTowardConsensus: true,
    });
    expect(mixed.pairs[0]!.origin).toBe("mixed");
  });

  test("weighted vote: a more accurate annotator outweighs two weaker ones; strength counts", () => {
    const s: AggregationSettings = {
      ...majority,
      overlap: 3,
      consensusRule: "weighted",
      weightByStrength: false,
    };
    const js = [
      vote(win("a", "b"), "human", { voterWeight: 0.9 }),
      vote(win("b", "a"), "human", { voterWeight: 0.3 }),
      vote(win("b", "a"), "human", { voterWeight: 0.3 }),
    ];
    // 0.9 vs 0.6: a wins by weight; by count only 1/3 agree, under reviewAgreementBelow 0.5 -> review
    expect(aggregate(["a", "b"], js, s).status).toBe("review");
    const r = aggregate(["a", "b"], js, { ...s, reviewAgreementBelow: 0 });
    expect(r.pairs[0]).toMatchObject({ chosenId: "a", rejectedId: "b" });
    // with strength weighting a "much better" vote at 0.4 beats a "slightly" at 0.7
    const st = aggregate(
      ["a", "b"],
      [
        vote(win("a", "b", 2), "human", { voterWeight: 0.4 }),
        vote(win("b", "a", 1), "human", { voterWeight: 0.7 }),
      ],
      {
        ...s,
        overlap: 2,
        weightByStrength: true,
        reviewAgreementBelow: 0,
      },
    );
    expect(st.pairs[0]).toMatchObject({ chosenId: "a", margin: 2 });
    expect(
      aggregate(
        ["a", "b"],
        [
          vote(win("a", "b"), "human", { voterWeight: 0.4 }),
          vote(win("b", "a"), "human", { voterWeight: 0.7 }),
        ],
        { ...s, overlap: 2, reviewAgreementBelow: 0 },
      ).pairs[0]!.chosenId,
    ).toBe("b");
  });

  test("an adjudication decides outright; the latest one wins", () => {
    const s = { ...majority, overlap: 2 };
    const split = [vote(win("a", "b")), vote(win("b", "a"))];
    const adj1 = vote(win("a", "b", 2), "adjudication");
    const adj2 = vote(win("b", "a", 1), "adjudication");
    const r = aggregate(["a", "b"], [...split, adj1, adj2], s);
    expect(r).toMatchObject({ status: "adjudicated", decidedBy: "adjudication", agreement: 1 });
    expect(r.pairs).toEqual([
      {
        chosenId: "b",
        rejectedId: "a",
        margin: 1,
        weight: 1,
        agreement: 1,
        judgmentIds: [adj2.id],
        origin: "human",
      },
    ]);
  });

  test("an imported preference stands as a finished consensus, with its explicit margin", () => {
    const r = aggregate(
      ["a", "b"],
      [
        vote(
          { kind: "pairwise", outcome: "win", winnerId: "b", loserId: "a", strength: 1, margin: 0.25 },
          "import",
        ),
      ],
      { ...majority, overlap: 3 },
    );
    expect(r).toMatchObject({ status: "complete", decidedBy: "import", judgmentCount: 1 });
    expect(r.pairs).toEqual([
      expect.objectContaining({ chosenId: "b", rejectedId: "a", margin: 0.25, weight: 1, origin: "import" }),
    ]);
  });

  test("several imported votes are tallied: a contradiction goes to review, a majority decides", () => {
    const tie = aggregate(["a", "b"], [vote(win("a", "b"), "import"), vote(win("b", "a"), "import")], {
      ...majority,
      overlap: 1,
    });
    expect(tie).toMatchObject({
      status: "review",
      decidedBy: null,
      judgmentCount: 2,
      agreement: 0.5,
      pairs: [],
    });
    const [x, y, z] = [
      vote(win("a", "b"), "import"),
      vote(win("b", "a"), "import"),
      vote(win("b", "a"), "import"),
    ];
    const two = aggregate(["a", "b"], [x, y, z], { ...majority, overlap: 5 });
    expect(two).toMatchObject({ status: "complete", decidedBy: "import", judgmentCount: 3 });
    expect(two.agreement).toBeCloseTo(2 / 3, 12);
    expect(two.pairs).toEqual([
      expect.objectContaining({
        chosenId: "b",
        rejectedId: "a",
        weight: 1,
        agreement: 2 / 3,
        judgmentIds: [x.id, y.id, z.id],
        origin: "import",
      }),
    ]);
  });

  test("a flag holds the comparison", () => {
    expect(aggregate(["a", "b"], [vote(win("a", "b"), "human", { flag: "unsafe" })], majority)).toMatchObject(
      { status: "flagged", pairs: [] },
    );
  });
});

test("verdictVotes and matchesGold", () => {
  expect(verdictVotes(win("b", "a", 2), ["a", "b"])).toEqual([
    { first: "a", second: "b", category: "second", margin: 2 },
  ]);
  expect(matchesGold(rank(["a"], ["b"], ["c"]), rank(["a"], ["b"], ["c"]), ["a", "b", "c"])).toBe(true);
  expect(matchesGold(rank(["a"], ["c"], ["b"]), rank(["a"], ["b"], ["c"]), ["a", "b", "c"])).toBe(false);
  expect(matchesGold(win("a", "b", 2), win("a", "b", 1), ["a", "b"])).toBe(true);
});
