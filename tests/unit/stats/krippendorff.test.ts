import { describe, expect, it } from "vitest";
import { coincidenceMatrix, krippendorffAlpha, raterMatrixToUnits } from "@/server/stats";
import ref from "./fixtures/reference.json";

// Krippendorff (2011) "Computing Krippendorff's Alpha-Reliability", section E:
// reliability data matrix, 4 observers (rows) × 12 units (columns), values 1-5,
// null = observer did not rate the unit. Published: nominal .743, ordinal .815,
// interval .849, ratio .797 (the ordinal/ratio figures are also asserted by the
// `krippendorff` PyPI package's tests; fixtures/reference.py recomputes all of
// them independently).
const K2011 = [
  [1, 2, 3, 3, 2, 1, 4, 1, 2, null, null, null],
  [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, null, 3],
  [null, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, null],
  [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, null],
];

// Wikipedia "Krippendorff's alpha" computational example (3 coders × 15 units).
const WIKI = [
  [null, null, null, null, null, 3, 4, 1, 2, 1, 1, 3, 3, null, 3],
  [1, null, 2, 1, 3, 3, 4, 3, null, null, null, null, null, null, null],
  [null, null, 2, 1, 3, 4, 4, null, 2, 1, 1, 3, 3, null, 4],
];

describe("krippendorffAlpha — Krippendorff (2011) published example", () => {
  const units = raterMatrixToUnits(K2011);

  it("matches the published figures to 3 decimals", () => {
    expect(krippendorffAlpha(units, "nominal").alpha.toFixed(3)).toBe("0.743");
    expect(krippendorffAlpha(units, "ordinal").alpha.toFixed(3)).toBe("0.815");
    expect(krippendorffAlpha(units, "interval").alpha.toFixed(3)).toBe("0.849");
    expect(krippendorffAlpha(units, "ratio").alpha.toFixed(3)).toBe("0.797");
  });

  it("matches the independent reference implementation to 1e-12", () => {
    for (const metric of ["nominal", "ordinal", "interval", "ratio"] as const) {
      expect(krippendorffAlpha(units, metric).alpha).toBeCloseTo(ref.krippendorff.k2011[metric], 12);
    }
  });

  it("ignores the unit with a single rating (unit 12) and counts pairable values", () => {
    const r = krippendorffAlpha(units, "nominal");
    expect(r.pairableUnits).toBe(11);
    expect(r.pairableValues).toBe(40);
  });

  it("defaults to the ordinal metric and accepts Map values", () => {
    const byId = new Map(units.map((u, i) => [`unit-${i}`, u] as const));
    expect(krippendorffAlpha(byId.values()).alpha).toBeCloseTo(ref.krippendorff.k2011.ordinal, 12);
  });
});

describe("krippendorffAlpha — Wikipedia example", () => {
  const units = raterMatrixToUnits(WIKI);
  it("nominal 0.691358 and interval 0.810845", () => {
    expect(krippendorffAlpha(units, "nominal").alpha).toBeCloseTo(0.691358, 6);
    expect(krippendorffAlpha(units, "interval").alpha).toBeCloseTo(0.810845, 6);
    expect(krippendorffAlpha(units, "ordinal").alpha).toBeCloseTo(ref.krippendorff.wikipedia.ordinal, 12);
  });
});

describe("krippendorffAlpha — hand-computed {-1, 0, +1} votes", () => {
  // Units (ragged, with a null and a single-rating unit that must be ignored):
  const units = [[1, 1, 0], [-1, -1], [0, 1], [1, 1], [-1, 0, null], [0]];
  // Coincidence matrix (rows/cols -1, 0, +1), each unit's pairs weighted 1/(m_u - 1):
  //   -1: [2, 1, 0]   n=3
  //    0: [1, 0, 2]   n=3
  //   +1: [0, 2, 3]   n=5        total n = 11
  it("builds the coincidence matrix", () => {
    const cm = coincidenceMatrix(units);
    expect(cm.values).toEqual([-1, 0, 1]);
    expect(cm.matrix).toEqual([
      [2, 1, 0],
      [1, 0, 2],
      [0, 2, 3],
    ]);
    expect(cm.marginals).toEqual([3, 3, 5]);
    expect(cm.total).toBe(11);
    expect(cm.pairableUnits).toBe(5);
  });

  it("nominal: 1 - 10·6 / (2·(9+15+15)) = 3/13", () => {
    expect(krippendorffAlpha(units, "nominal").alpha).toBeCloseTo(3 / 13, 14);
  });

  it("ordinal: d²(-1,0)=9, d²(0,1)=16, d²(-1,1)=49 → 1 - 10·82/2112 = 323/528", () => {
    expect(krippendorffAlpha(units, "ordinal").alpha).toBeCloseTo(323 / 528, 14);
  });

  it("interval: 1 - 10·6/168 = 9/14", () => {
    expect(krippendorffAlpha(units, "interval").alpha).toBeCloseTo(9 / 14, 14);
  });

  it("agrees with the reference script", () => {
    expect(krippendorffAlpha(units, "nominal").alpha).toBeCloseTo(ref.krippendorff.hand.nominal, 12);
    expect(krippendorffAlpha(units, "ordinal").alpha).toBeCloseTo(ref.krippendorff.hand.ordinal, 12);
    expect(krippendorffAlpha(units, "interval").alpha).toBeCloseTo(ref.krippendorff.hand.interval, 12);
  });

  it("ordinal alpha depends only on the order of the codes, not their spacing", () => {
    const stretched = units.map((u) => u.map((v) => (v === 1 ? 10 : v)));
    expect(krippendorffAlpha(stretched, "ordinal").alpha).toBeCloseTo(323 / 528, 14);
    expect(krippendorffAlpha(stretched, "interval").alpha).not.toBeCloseTo(9 / 14, 3);
  });
});

describe("krippendorffAlpha — edge cases", () => {
  it("perfect agreement is 1", () => {
    expect(
      krippendorffAlpha(
        [
          [1, 1],
          [0, 0, 0],
          [-1, -1],
        ],
        "ordinal",
      ).alpha,
    ).toBe(1);
  });

  it("is NaN when undefined: no variation, or no pairable unit", () => {
    expect(
      krippendorffAlpha([
        [1, 1],
        [1, 1, 1],
      ]).alpha,
    ).toBeNaN();
    const none = krippendorffAlpha([[1], [0, null], []]);
    expect(none.alpha).toBeNaN();
    expect(none.pairableUnits).toBe(0);
  });

  it("treats NaN as missing and rejects infinities", () => {
    expect(
      krippendorffAlpha(
        [
          [1, 1, Number.NaN],
          [0, 0],
        ],
        "nominal",
      ).alpha,
    ).toBe(1);
    expect(() => krippendorffAlpha([[1, Number.POSITIVE_INFINITY]])).toThrow(/finite/);
  });

  it("is negative for systematic disagreement", () => {
    expect(
      krippendorffAlpha(
        [
          [-1, 1],
          [1, -1],
          [-1, 1],
        ],
        "nominal",
      ).alpha,
    ).toBeLessThan(0);
  });
});
