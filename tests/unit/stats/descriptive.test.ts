import { describe, expect, it } from "vitest";
import { createRng, mean, median, percentile, quantile, wilsonInterval } from "@/server/stats";
import ref from "./fixtures/reference.json";

describe("quantile / percentile / median", () => {
  it("matches numpy's default (linear, type 7) quantiles", () => {
    for (const [q, expected] of Object.entries(ref.descriptive.quantiles)) {
      expect(quantile(ref.descriptive.sample, Number(q))).toBeCloseTo(expected, 12);
    }
  });

  it("hand cases", () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(quantile([1, 2, 3, 4], 0.25)).toBe(1.75);
    const oneToHundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(oneToHundred, 50)).toBe(50.5);
    expect(percentile(oneToHundred, 99)).toBeCloseTo(99.01, 12);
    expect(mean([1, 2, 3, 6])).toBe(3);
  });

  it("empty input gives NaN, NaN entries are skipped, input is not mutated", () => {
    expect(median([])).toBeNaN();
    expect(mean([])).toBeNaN();
    expect(median([Number.NaN, 2, 4])).toBe(3);
    const xs = [3, 1, 2];
    median(xs);
    expect(xs).toEqual([3, 1, 2]);
    expect(() => quantile([1], 1.5)).toThrow(RangeError);
    expect(() => percentile([1], -1)).toThrow(RangeError);
  });
});

describe("wilsonInterval", () => {
  it("matches the reference formula", () => {
    const cases: Array<[number, number, number[]]> = [
      [7, 20, ref.descriptive.wilson["7/20"]],
      [0, 10, ref.descriptive.wilson["0/10"]],
      [10, 10, ref.descriptive.wilson["10/10"]],
    ];
    for (const [k, n, [lo, hi]] of cases) {
      const w = wilsonInterval(k, n);
      expect(w.estimate).toBe(k / n);
      expect(w.lower).toBeCloseTo(lo as number, 12);
      expect(w.upper).toBeCloseTo(hi as number, 12);
    }
  });

  it("handles zero trials and rejects impossible counts", () => {
    expect(wilsonInterval(0, 0)).toEqual({ estimate: Number.NaN, lower: 0, upper: 1 });
    expect(() => wilsonInterval(3, 2)).toThrow(RangeError);
  });
});

describe("createRng", () => {
  it("is deterministic per seed and uniform-ish in [0, 1)", () => {
    const a = createRng(7);
    const b = createRng(7);
    const c = createRng(8);
    const xs = Array.from({ length: 10_000 }, () => a());
    expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b()));
    expect(c()).not.toBe(xs[0]);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(mean(xs)).toBeCloseTo(0.5, 1);
  });
});
