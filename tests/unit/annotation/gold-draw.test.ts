// The gold-ratio draw (server/annotation/queue.ts wantGold) with its random source fixed: the
// probability is clamp(ratio·(served+1) − gold, 0, 1), drawn as random() < p.
import { describe, expect, it } from "vitest";
import { wantGold } from "@/server/annotation/queue";
import { createRng } from "@/server/stats/rng";

const fixed = (x: number) => () => x;

describe("wantGold", () => {
  it("draws gold with probability ratio·(served+1) − gold", () => {
    // First item at ratio 0.25: p = 0.25.
    expect(wantGold(0.25, 0, 0, fixed(0.24))).toBe(true);
    expect(wantGold(0.25, 0, 0, fixed(0.25))).toBe(false);
    // After 2 served, none gold: p = 0.75.
    expect(wantGold(0.25, 2, 0, fixed(0.74))).toBe(true);
    expect(wantGold(0.25, 2, 0, fixed(0.76))).toBe(false);
    // After 3 served, none gold: p = 1, whatever the draw.
    expect(wantGold(0.25, 3, 0, fixed(0.999999))).toBe(true);
    // One gold already in 1 served: p = 0.5 − 1 < 0, never.
    expect(wantGold(0.25, 1, 1, fixed(0))).toBe(false);
    // After 4 served with 1 gold: p = 0.25 again.
    expect(wantGold(0.25, 4, 1, fixed(0.2))).toBe(true);
    expect(wantGold(0.25, 4, 1, fixed(0.3))).toBe(false);
    // No gold at ratio 0, and no draw at all.
    expect(wantGold(0, 5, 0, () => Number.NaN)).toBe(false);
  });

  it("keeps the realised share within one item of the ratio, with a seeded source", () => {
    for (const ratio of [0.1, 0.25, 0.5]) {
      const rng = createRng(7);
      let gold = 0;
      for (let served = 0; served < 2000; served++) {
        if (wantGold(ratio, served, gold, rng)) gold++;
        expect(Math.abs(gold - ratio * (served + 1))).toBeLessThan(1);
      }
      expect(gold).toBe(Math.round(ratio * 2000));
    }
  });
});
