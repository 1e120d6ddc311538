import { describe, expect, it } from "vitest";
import {
  categoryCounts,
  cohenKappa,
  cohenKappaFromLabels,
  fleissKappa,
  verdictAgreement,
  type VerdictPair,
} from "@/server/stats";
import ref from "./fixtures/reference.json";

// Wikipedia "Fleiss' kappa" worked example: 10 subjects, 14 raters, 5 categories.
const FLEISS_WIKI = [
  [0, 0, 0, 0, 14],
  [0, 2, 6, 4, 2],
  [0, 0, 3, 5, 6],
  [0, 3, 9, 2, 0],
  [2, 2, 8, 1, 1],
  [7, 7, 0, 0, 0],
  [3, 2, 6, 3, 0],
  [2, 5, 3, 2, 2],
  [6, 5, 2, 1, 0],
  [0, 2, 2, 3, 7],
];

describe("fleissKappa", () => {
  it("reproduces the Wikipedia example (κ = 0.210, P̄ = 0.378, P̄e = 0.213)", () => {
    const r = fleissKappa(FLEISS_WIKI);
    expect(r.kappa.toFixed(3)).toBe("0.210");
    expect(r.observedAgreement.toFixed(3)).toBe("0.378");
    expect(r.expectedAgreement.toFixed(3)).toBe("0.213");
    expect(r.kappa).toBeCloseTo(ref.fleiss.wikipedia.kappa, 12);
    r.categoryProportions.forEach((p, j) => expect(p).toBeCloseTo(ref.fleiss.wikipedia.p[j] as number, 12));
    expect(r.items).toBe(10);
    expect(r.ratersPerItem).toBe(14);
  });

  it("is 1 for perfect agreement", () => {
    const counts = categoryCounts(
      [
        ["a", "a", "a", "a"],
        ["b", "b", "b", "b"],
        ["tie", "tie", "tie", "tie"],
        ["a", "a", "a", "a"],
      ],
      ["a", "b", "tie"],
    );
    expect(counts[2]).toEqual([0, 0, 4]);
    expect(fleissKappa(counts).kappa).toBe(1);
  });

  it("throws a clear error when items have different rater counts", () => {
    expect(() =>
      fleissKappa([
        [2, 1],
        [1, 1],
      ]),
    ).toThrow(/same number of raters.*item 0 has 3, item 1 has 2/);
  });

  it("rejects degenerate input", () => {
    expect(() => fleissKappa([])).toThrow(/no items/);
    expect(() => fleissKappa([[1, 0]])).toThrow(/at least 2 raters/);
    expect(() => fleissKappa([[1, 1], [2]])).toThrow(/categories/);
    expect(() => fleissKappa([[1.5, 0.5]])).toThrow(/invalid count/);
  });

  it("is NaN when every rating is in one category", () => {
    expect(
      fleissKappa([
        [3, 0],
        [3, 0],
      ]).kappa,
    ).toBeNaN();
  });
});

describe("cohenKappa", () => {
  it("Wikipedia 2×2 example: 20/5/10/15 → p_o 0.7, p_e 0.5, κ 0.4", () => {
    const r = cohenKappa([
      [20, 5],
      [10, 15],
    ]);
    expect(r.observedAgreement).toBeCloseTo(0.7, 14);
    expect(r.expectedAgreement).toBeCloseTo(0.5, 14);
    expect(r.kappa).toBeCloseTo(0.4, 14);
    expect(r.n).toBe(50);
  });

  it("builds the table from label arrays, skipping missing labels", () => {
    const first = ["y", "y", "n", "n", null, "y"];
    const second = ["y", "n", "n", "n", "y", "y"];
    // table [[2,1],[0,2]], n=5: p_o=4/5, p_e=(3·2+2·3)/25=12/25 → κ=(20-12)/(25-12)=8/13
    expect(cohenKappaFromLabels(first, second, ["y", "n"]).kappa).toBeCloseTo(8 / 13, 14);
    expect(() => cohenKappaFromLabels(["y"], ["maybe"], ["y", "n"])).toThrow(/unknown category/);
    expect(() => cohenKappaFromLabels(["y"], [], ["y", "n"])).toThrow(/labels/);
  });

  it("is NaN with no data or when both raters use a single category", () => {
    expect(
      cohenKappa([
        [0, 0],
        [0, 0],
      ]).kappa,
    ).toBeNaN();
    expect(
      cohenKappa([
        [5, 0],
        [0, 0],
      ]).kappa,
    ).toBeNaN();
    expect(() => cohenKappa([[1, 2]])).toThrow(/square/);
  });
});

describe("verdictAgreement (human consensus vs AI judge)", () => {
  // Reference rows × judge columns, order [a, b, tie]:
  //   a:   10  2  3
  //   b:    1  8  2
  //   tie:  2  1  1        n = 30, diagonal 19
  // with ties: p_o = 19/30, rows 15/11/4, cols 13/11/6, p_e = 340/900 → κ = 230/560 = 23/56
  // decisive only (2×2 [[10,2],[1,8]]): p_o = 18/21, p_e = 222/441 → κ = 156/219 = 52/73
  const table = [
    [10, 2, 3],
    [1, 8, 2],
    [2, 1, 1],
  ];
  const labels = ["a", "b", "tie"] as const;
  const pairs: VerdictPair[] = [];
  table.forEach((row, i) =>
    row.forEach((count, j) => {
      for (let k = 0; k < count; k++) pairs.push({ reference: labels[i] as "a", judge: labels[j] as "a" });
    }),
  );

  it("computes kappa and raw agreement with and without ties", () => {
    const r = verdictAgreement(pairs);
    expect(r.withTies.table).toEqual(table);
    expect(r.withTies.n).toBe(30);
    expect(r.withTies.observedAgreement).toBeCloseTo(19 / 30, 14);
    expect(r.withTies.kappa).toBeCloseTo(23 / 56, 14);
    expect(r.withTies.kappa).toBeCloseTo(ref.cohen.verdicts3.kappa, 12);

    expect(r.decisiveOnly.table).toEqual([
      [10, 2],
      [1, 8],
    ]);
    expect(r.decisiveOnly.n).toBe(21);
    expect(r.decisiveOnly.observedAgreement).toBeCloseTo(18 / 21, 14);
    expect(r.decisiveOnly.kappa).toBeCloseTo(52 / 73, 14);
    expect(r.decisiveOnly.kappa).toBeCloseTo(ref.cohen.verdicts2.kappa, 12);
  });
});
