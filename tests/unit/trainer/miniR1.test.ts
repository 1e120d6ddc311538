import { describe, expect, it } from "vitest";
import { Rng, miniR1 } from "../../../trainer/index";

describe("mini-R1", () => {
  it("makes deterministic problems whose steps compute the answer", () => {
    for (const difficulty of [1, 2, 3]) {
      const a = miniR1.makeProblems(5, 50, { difficulty });
      expect(miniR1.makeProblems(5, 50, { difficulty })).toEqual(a);
      for (const p of a) {
        expect(p.steps.length).toBe(difficulty);
        let cur = p.steps[0]!.a;
        for (const s of p.steps) {
          expect(s.a).toBe(cur);
          cur = s.op === "+" ? cur + s.b : s.op === "-" ? cur - s.b : cur * s.b;
          expect(s.result).toBe(cur);
          expect(cur).toBeGreaterThanOrEqual(0);
        }
        expect(p.answer).toBe(cur);
        expect(p.question).toContain(String(p.steps[0]!.a));
      }
    }
  });

  it("gives the target completion the full gold reward", () => {
    for (const p of miniR1.makeProblems(1, 30, { difficulty: 3 })) {
      const t = miniR1.targetCompletion(p);
      expect(miniR1.goldReward(p, t)).toEqual({ reward: 1, correct: true, formatOk: true });
      expect(miniR1.extractAnswer(t)).toBe(p.answer);
    }
  });

  it("scores every noisy kind below the target", () => {
    const rng = new Rng(3);
    const expected = {
      wrong_answer: { correct: false, formatOk: true },
      wrong_step: { correct: false, formatOk: true },
      no_think: { correct: true, formatOk: false },
      unclosed_think: { correct: true, formatOk: false },
    };
    for (const p of miniR1.makeProblems(2, 40, { difficulty: 2 })) {
      for (const kind of miniR1.NOISE_KINDS) {
        const c = miniR1.noisyCompletion(p, rng, kind);
        expect(c).not.toBe(miniR1.targetCompletion(p));
        const g = miniR1.goldReward(p, c);
        expect({ correct: g.correct, formatOk: g.formatOk }).toEqual(expected[kind]);
        expect(g.reward).toBeLessThan(1);
      }
    }
  });

  it("extracts answers and checks format strictly", () => {
    expect(miniR1.extractAnswer("<think>2 + 2 = 4.</think>The answer is 4.")).toBe(4);
    expect(miniR1.extractAnswer("<think>answer is 3</think> so 7")).toBe(7);
    expect(miniR1.extractAnswer("The answer is -2")).toBe(-2);
    expect(miniR1.extractAnswer("no digits")).toBeNull();
    expect(miniR1.formatOk("<think>x</think>The answer is 4.")).toBe(true);
    expect(miniR1.formatOk("<think></think>The answer is 4.")).toBe(false);
    expect(miniR1.formatOk("<think>a<think>b</think>The answer is 4.")).toBe(false);
    expect(miniR1.formatOk("<think>x</think>The answer is 4. Extra")).toBe(false);
    expect(miniR1.goldReward({ answer: 4 }, "The answer is 4.").reward).toBeCloseTo(0.8);
  });

  it("builds preference pairs with distinct chosen and rejected", () => {
    const pairs = miniR1.preferencePairs(miniR1.makeProblems(9, 20), 1);
    expect(pairs.length).toBe(20);
    for (const p of pairs) expect(p.chosen).not.toEqual(p.rejected);
  });
});
