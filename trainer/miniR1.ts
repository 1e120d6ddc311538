// mini-R1: a built-in task with verifiable answers, so the whole RLHF loop (SFT -> reward model ->
// preference optimisation -> evaluation) can be shown on a laptop.
//
// Prompts are multi-step arithmetic word problems; the target completion reasons inside
// <think>...</think> and then answers "The answer is N."; noisy variants (wrong step, wrong answer,
// no reasoning, unclosed reasoning) make preference pairs; `goldReward` is the programmatic judge
// (answer correctness plus format), exported so a "rule judge" elsewhere uses the very same checker.
import type { PreferencePair, SftExample } from "./data";
import { Rng } from "./rng";
import type { ChatMessage } from "./tokenizer";

export type Op = "+" | "-" | "*";
export interface Step {
  a: number;
  op: Op;
  b: number;
  result: number;
}
export interface Problem {
  id: string;
  question: string;
  steps: Step[];
  answer: number;
  difficulty: number;
}
export type NoiseKind = "wrong_answer" | "wrong_step" | "no_think" | "unclosed_think";
export const NOISE_KINDS: readonly NoiseKind[] = ["wrong_answer", "wrong_step", "no_think", "unclosed_think"];

const NAMES = [
  "Ana",
  "Ben",
  "Chen",
  "Dara",
  "Eli",
  "Fay",
  "Gus",
  "Hana",
  "Ivo",
  "Jia",
  "Kofi",
  "Lea",
  "Mo",
  "Nia",
  "Omar",
  "Pia",
];
const ITEMS = [
  "apples",
  "books",
  "coins",
  "stickers",
  "marbles",
  "pens",
  "shells",
  "cards",
  "stamps",
  "cookies",
];
const ADD = ["buys {b} more", "finds {b} more", "gets {b} more", "is given {b} more"];
const SUB = ["gives away {b}", "loses {b}", "sells {b}", "eats {b}"];
const MUL = ["then has {b} times as many", "multiplies them by {b}"];

function apply(a: number, op: Op, b: number): number {
  return op === "+" ? a + b : op === "-" ? a - b : a * b;
}

/**
 * `n` problems drawn from `seed`. difficulty 1: one + or - step (numbers up to 20); 2: two steps;
 * 3: three steps, × allowed (numbers up to 50). Results never go negative.
 */
export function makeProblems(seed: number, n: number, opts: { difficulty?: number } = {}): Problem[] {
  const difficulty = Math.min(3, Math.max(1, Math.round(opts.difficulty ?? 1)));
  const rng = new Rng(seed);
  const maxN = difficulty === 3 ? 50 : 20;
  const out: Problem[] = [];
  for (let i = 0; i < n; i++) {
    const name = rng.pick(NAMES);
    const item = rng.pick(ITEMS);
    let cur = rng.range(2, maxN);
    const start = cur;
    const steps: Step[] = [];
    const phrases: string[] = [];
    for (let s = 0; s < difficulty; s++) {
      const ops: Op[] = difficulty === 3 && cur <= 20 ? ["+", "-", "*"] : ["+", "-"];
      let op = rng.pick(ops);
      if (op === "-" && cur < 2) op = "+";
      const b = op === "*" ? rng.range(2, 3) : op === "-" ? rng.range(1, cur) : rng.range(1, maxN);
      const result = apply(cur, op, b);
      steps.push({ a: cur, op, b, result });
      const tmpl = rng.pick(op === "+" ? ADD : op === "-" ? SUB : MUL);
      phrases.push(tmpl.replace("{b}", String(b)));
      cur = result;
    }
    const then = phrases.map((p, j) => (j === 0 ? `${name} ${p}` : `then ${name} ${p}`)).join(", ");
    const question = `${name} has ${start} ${item}. ${capital(then)}. How many ${item} does ${name} have now?`;
    out.push({ id: `r1-${seed}-${difficulty}-${i}`, question, steps, answer: cur, difficulty });
  }
  return out;
}

function capital(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function stepText(s: Step): string {
  return `${s.a} ${s.op} ${s.b} = ${s.result}.`;
}

/** The target completion: "<think>5 + 3 = 8. 8 - 2 = 6.</think>The answer is 6." */
export function targetCompletion(p: Problem): string {
  return `<think>${p.steps.map(stepText).join(" ")}</think>The answer is ${p.answer}.`;
}

/** A flawed completion of the given kind (default: random). Always differs from the target. */
export function noisyCompletion(p: Problem, rng: Rng, kind?: NoiseKind): string {
  const k = kind ?? rng.pick(NOISE_KINDS);
  const off = () => rng.pick([-3, -2, -1, 1, 2, 3]);
  switch (k) {
    case "wrong_answer": {
      const wrong = p.answer + off();
      return `<think>${p.steps.map(stepText).join(" ")}</think>The answer is ${wrong === p.answer ? p.answer + 1 : wrong}.`;
    }
    case "wrong_step": {
      // one arithmetic slip, carried through to the end
      const j = rng.int(p.steps.length);
      const steps: Step[] = [];
      let cur = p.steps[0]?.a ?? 0;
      p.steps.forEach((s, i) => {
        let r = apply(cur, s.op, s.b);
        if (i === j) r += off();
        steps.push({ a: cur, op: s.op, b: s.b, result: r });
        cur = r;
      });
      if (cur === p.answer) cur += 1;
      const last = steps[steps.length - 1] as Step;
      last.result = cur;
      return `<think>${steps.map(stepText).join(" ")}</think>The answer is ${cur}.`;
    }
    case "no_think":
      return `The answer is ${p.answer}.`;
    case "unclosed_think":
      return `<think>${p.steps.map(stepText).join(" ")} The answer is ${p.answer}.`;
  }
}

/**
 * The final answer: the integer after "answer is" following the last </think> (or anywhere, if the
 * text has no </think>); else the last integer of that part. null if there is none.
 */
export function extractAnswer(text: string): number | null {
  const end = text.lastIndexOf("</think>");
  const tail = end >= 0 ? text.slice(end + "</think>".length) : text;
  const m = /answer is\s*(-?\d+)/i.exec(tail);
  if (m) return Number(m[1]);
  const all = tail.match(/-?\d+/g);
  return all && all.length ? Number(all[all.length - 1]) : null;
}

/** Format: exactly one <think>...</think> at the start, then "The answer is N." and nothing else. */
export function formatOk(text: string): boolean {
  return /^\s*<think>(?:(?!<\/?think>)[\s\S])+<\/think>\s*The answer is -?\d+\.?\s*$/.test(text);
}

/**
 * Programmatic gold reward in [0, 1]: 0.8 for a correct final answer + 0.2 for the required format.
 * `problem` may be a Problem or just its expected answer.
 */
export function goldReward(
  problem: Problem | { answer: number },
  completionText: string,
): { reward: number; correct: boolean; formatOk: boolean } {
  const correct = extractAnswer(completionText) === problem.answer;
  const fmt = formatOk(completionText);
  return { reward: (correct ? 0.8 : 0) + (fmt ? 0.2 : 0), correct, formatOk: fmt };
}

/** The prompt as a conversation (one user turn). */
export function chatPrompt(p: Problem): ChatMessage[] {
  return [{ role: "user", content: p.question }];
}

/** SFT examples: chat prompt -> target completion. */
export function sftExamples(problems: readonly Problem[]): SftExample[] {
  return problems.map((p) => ({ prompt: chatPrompt(p), completion: targetCompletion(p) }));
}

/** Preference pairs: chosen = target, rejected = a noisy variant (kinds drawn from `seed`). */
export function preferencePairs(
  problems: readonly Problem[],
  seed: number,
  kinds: readonly NoiseKind[] = NOISE_KINDS,
): PreferencePair[] {
  const rng = new Rng(seed);
  return problems.map((p) => ({
    prompt: chatPrompt(p),
    chosen: targetCompletion(p),
    rejected: noisyCompletion(p, rng, rng.pick(kinds)),
    key: `${p.id}:${seed}`,
  }));
}

/** Texts for training a tokenizer on this task (questions and completions, with their specials). */
export function corpus(problems: readonly Problem[]): string[] {
  const rng = new Rng(1);
  return problems.flatMap((p) => [p.question, targetCompletion(p), noisyCompletion(p, rng)]);
}
