import { describe, expect, it } from "vitest";
import { lengthBias, positionBias, swapInconsistency, unswap, wilsonInterval } from "@/server/stats";

describe("positionBias", () => {
  it("share of decisive votes won by the first-shown side", () => {
    const r = positionBias([
      { winner: "a", shownFirst: "a" }, // first wins
      { winner: "b", shownFirst: "b" }, // first wins
      { winner: "b", shownFirst: "a" }, // second wins
      { winner: "a", shownFirst: "a" }, // first wins
      { winner: "tie", shownFirst: "b" }, // ignored
    ]);
    expect(r.ties).toBe(1);
    expect(r.firstWins.hits).toBe(3);
    expect(r.firstWins.considered).toBe(4);
    expect(r.firstWins.estimate).toBe(0.75);
    const w = wilsonInterval(3, 4);
    expect(r.firstWins.lower).toBe(w.lower);
    expect(r.firstWins.upper).toBe(w.upper);
  });

  it("is NaN with no decisive votes", () => {
    expect(positionBias([{ winner: "tie", shownFirst: "a" }]).firstWins.estimate).toBeNaN();
    expect(positionBias([]).firstWins.considered).toBe(0);
  });
});

describe("lengthBias", () => {
  it("share of decisive unequal-length votes won by the longer completion", () => {
    const r = lengthBias([
      { winner: "a", lengthA: 500, lengthB: 200 }, // longer wins
      { winner: "b", lengthA: 100, lengthB: 300 }, // longer wins
      { winner: "a", lengthA: 100, lengthB: 300 }, // shorter wins
      { winner: "b", lengthA: 250, lengthB: 250 }, // equal length: excluded
      { winner: "tie", lengthA: 900, lengthB: 10 }, // tie: excluded
      { winner: "b", lengthA: 400, lengthB: 401 }, // longer wins
    ]);
    expect(r.longerWins.hits).toBe(3);
    expect(r.longerWins.considered).toBe(4);
    expect(r.longerWins.estimate).toBe(0.75);
    expect(r.ties).toBe(1);
    expect(r.equalLength).toBe(1);
  });
});

describe("swapInconsistency", () => {
  it("unswap maps positions back to completions", () => {
    expect(unswap("first", "a")).toBe("a");
    expect(unswap("second", "a")).toBe("b");
    expect(unswap("first", "b")).toBe("b");
    expect(unswap("second", "b")).toBe("a");
    expect(unswap("tie", "b")).toBe("tie");
  });

  it("fraction of double-judged comparisons whose verdicts disagree after un-swapping", () => {
    const r = swapInconsistency([
      { forward: "first", reversed: "second" }, // A, A: consistent
      { forward: "second", reversed: "first" }, // B, B: consistent
      { forward: "first", reversed: "first" }, // A, B: inconsistent, same position
      { forward: "second", reversed: "second" }, // B, A: inconsistent, same position
      { forward: "tie", reversed: "tie" }, // consistent
      { forward: "tie", reversed: "first" }, // tie vs B: inconsistent
      { forward: "first", reversed: "second" }, // consistent
      { forward: "tie", reversed: "second" }, // tie vs A: inconsistent
    ]);
    expect(r.inconsistent.hits).toBe(4);
    expect(r.inconsistent.considered).toBe(8);
    expect(r.inconsistent.estimate).toBe(0.5);
    expect(r.samePosition.hits).toBe(2);
    expect(r.samePosition.estimate).toBe(0.25);
  });
});
