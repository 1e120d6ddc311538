// mini-R1 arithmetic (trainer/miniR1.ts) as an environment: the same problems, target completions
// and checker; the score is the final answer's correctness, the format is checked apart.
import * as miniR1 from "../miniR1";
import { type Environment, clampDifficulty, drawSplit } from "./types";

export type MiniR1Problem = miniR1.Problem;

export const miniR1Env: Environment<MiniR1Problem> = {
  name: "miniR1",
  title: "mini-R1 arithmetic",
  description:
    "Multi-step arithmetic word problems; reason in <think>…</think>, then 'The answer is N.' Difficulty = steps (1-3; × from 3).",
  maxDifficulty: 3,
  defaultDifficulty: 1,
  problems(o) {
    const difficulty = clampDifficulty(this, o.difficulty);
    return drawSplit(
      { ...o, difficulty },
      (p) => p.question,
      (rng) => miniR1.makeProblems(rng.nextUint32() & 0x3fffffff, 1, { difficulty })[0] as MiniR1Problem,
    );
  },
  key: (p) => p.question,
  prompt: (p) => miniR1.chatPrompt(p),
  target: (p) => miniR1.targetCompletion(p),
  check(p, completion) {
    const g = miniR1.goldReward(p, completion);
    return { score: g.correct ? 1 : 0, correct: g.correct, formatOk: g.formatOk };
  },
  parse(json) {
    const o = (json ?? {}) as Partial<MiniR1Problem> & { id?: unknown };
    if (typeof o.answer !== "number") return null;
    if (Array.isArray(o.steps) && typeof o.question === "string") return o as MiniR1Problem;
    const m = typeof o.id === "string" ? /^r1-(-?\d+)-([123])-(\d+)$/.exec(o.id) : null;
    if (m) {
      const p = miniR1.makeProblems(Number(m[1]), Number(m[3]) + 1, { difficulty: Number(m[2]) })[
        Number(m[3])
      ];
      if (p && p.answer === o.answer && (o.question === undefined || o.question === p.question)) return p;
    }
    return {
      id: String(o.id ?? "r1-custom"),
      question: String(o.question ?? ""),
      steps: [],
      answer: o.answer,
      difficulty: 1,
    };
  },
};
