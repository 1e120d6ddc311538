// List sorting: a second verifiable reasoning task. "Sort in ascending order: 17, 4, 9." ->
// "<think>4 < 9 < 17.</think>The answer is 4, 9, 17." Difficulty: list length (3, 4, 5 numbers)
// and range (up to 20, 50, 99); numbers may repeat.
import type { ChatMessage } from "../tokenizer";
import { type Environment, answerFormatOk, clampDifficulty, drawSplit, finalAnswer } from "./types";

export interface SortingProblem {
  numbers: number[];
  difficulty: number;
}

const sorted = (xs: readonly number[]) => [...xs].sort((a, b) => a - b);

export const sortingEnv: Environment<SortingProblem> = {
  name: "sorting",
  title: "List sorting",
  description:
    "Sort a short list of integers ascending; reason in <think>…</think>, then 'The answer is a, b, c.' Difficulty = length and range (1-3).",
  maxDifficulty: 3,
  defaultDifficulty: 1,
  problems(o) {
    const difficulty = clampDifficulty(this, o.difficulty);
    const len = 2 + difficulty;
    const max = [20, 50, 99][difficulty - 1] as number;
    return drawSplit(
      { ...o, difficulty },
      (p) => p.numbers.join(","),
      (rng) => ({ numbers: Array.from({ length: len }, () => rng.range(0, max)), difficulty }),
    );
  },
  key: (p) => p.numbers.join(","),
  prompt: (p): ChatMessage[] => [
    { role: "user", content: `Sort in ascending order: ${p.numbers.join(", ")}.` },
  ],
  target: (p) => {
    const s = sorted(p.numbers);
    return `<think>${s.join(" < ").replace(/(\d+) < (?=\1\b)/g, "$1 = ")}.</think>The answer is ${s.join(", ")}.`;
  },
  check(p, completion) {
    const formatOk = answerFormatOk(completion);
    const ans = finalAnswer(completion);
    const got = ans === null ? null : ans.split(/\s*,\s*/).map((x) => (/^-?\d+$/.test(x) ? Number(x) : NaN));
    const want = sorted(p.numbers);
    const correct = got !== null && got.length === want.length && got.every((x, i) => x === want[i]);
    return { score: correct ? 1 : 0, correct, formatOk };
  },
  parse(json) {
    const o = (json ?? {}) as Partial<SortingProblem>;
    if (!Array.isArray(o.numbers) || !o.numbers.every((x) => Number.isInteger(x))) return null;
    return { numbers: o.numbers, difficulty: Number(o.difficulty ?? 1) };
  },
};
