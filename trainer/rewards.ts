// Reward functions for GRPO, as TRL's reward_funcs / reward_weights: a function maps (prompt,
// completion, task data) to a number, or null where it does not apply (TRL's None: NaN, left out of
// the weighted sum). Built in: correctness from a task's checker, format, a length penalty, a reward
// model's score, and an LLM judge's score (the judge itself is a callback: the server wires its
// judges in; the trainer knows nothing of HTTP).
import type { GPTModel } from "./model";
import { scoreRewards } from "./generate";
import type { BpeTokenizer, ChatMessage } from "./tokenizer";

/** What an environment's checker says about a completion. */
export interface CheckResult {
  /** In [0, 1]: 1 = fully right (partial credit allowed, e.g. share of unit tests passed). */
  score: number;
  correct: boolean;
  /** The required `<think>…</think>` then an answer. */
  formatOk: boolean;
  detail?: string;
}

export interface RewardInput {
  prompt: string | ChatMessage[];
  completion: string;
  /** Task data (e.g. the problem). */
  data?: unknown;
  env?: string;
  /** The environment's checker's verdict, when the prompt has one. */
  check?: CheckResult;
  completionTokens: number;
  /** Cut at the maximum length (no end token). */
  truncated: boolean;
}

export type RewardFn = (x: RewardInput) => number | null | Promise<number | null>;
/** Batched form, for models and judges that score many completions at once. */
export type BatchRewardFn = (xs: RewardInput[]) => Promise<(number | null)[]>;

export interface NamedReward {
  /** Metric name: rewards/<name>/mean. */
  name: string;
  fn?: RewardFn;
  batch?: BatchRewardFn;
  /** TRL reward_weights (default 1). */
  weight?: number;
}

/**
 * Scores completions with every function; total = Σ weight * value over the functions that gave a
 * value (TRL nansum). A completion no function scores gets 0 (TRL warns and uses NaN -> 0 as well).
 */
export async function combineRewards(
  funcs: readonly NamedReward[],
  xs: RewardInput[],
): Promise<{ total: number[]; perFunc: Record<string, number[]> }> {
  const perFunc: Record<string, number[]> = {};
  for (const f of funcs) {
    let vals: (number | null)[];
    if (f.batch) vals = await f.batch(xs);
    else if (f.fn) vals = await Promise.all(xs.map((x) => (f.fn as RewardFn)(x)));
    else throw new Error(`reward function ${f.name} has neither fn nor batch`);
    perFunc[f.name] = vals.map((v) => (v === null || v === undefined || !Number.isFinite(v) ? NaN : v));
  }
  const total = xs.map((_, i) =>
    funcs.reduce((s, f) => {
      const v = perFunc[f.name]?.[i] as number;
      return Number.isNaN(v) ? s : s + (f.weight ?? 1) * v;
    }, 0),
  );
  return { total, perFunc };
}

/** `<think>` reasoning `</think>` then a non-empty answer, and no other think tags. */
export const THINK_FORMAT = /^\s*<think>(?:(?!<\/?think>)[\s\S])+<\/think>\s*\S[\s\S]*$/;
export function thinkFormatOk(text: string): boolean {
  return THINK_FORMAT.test(text) && !/<\/?think>/.test(text.slice(text.indexOf("</think>") + 8));
}

/** Correctness from the task's checker: its score in [0, 1] (null where the prompt has no checker). */
export function correctnessReward(name = "correctness"): NamedReward {
  return { name, fn: (x) => (x.check ? x.check.score : null) };
}

/** Format: 1 when the completion reasons in `<think>…</think>` then answers (the env's own rule if it has one). */
export function formatReward(name = "format"): NamedReward {
  return { name, fn: (x) => (x.check ? (x.check.formatOk ? 1 : 0) : thinkFormatOk(x.completion) ? 1 : 0) };
}

/**
 * Length penalty: 0 up to `free` completion tokens, then falling linearly to -1 at `max`
 * (a truncated completion gets -1): the overlong penalty of DAPO, soft.
 */
export function lengthPenalty(o: { free: number; max: number }, name = "length"): NamedReward {
  return {
    name,
    fn: (x) => {
      if (x.truncated) return -1;
      if (x.completionTokens <= o.free) return 0;
      return -Math.min(1, (x.completionTokens - o.free) / Math.max(1, o.max - o.free));
    },
  };
}

/** A reward model's score of (prompt, completion), batched. */
export function rewardModelReward(rm: GPTModel, tok: BpeTokenizer, name = "reward_model"): NamedReward {
  return {
    name,
    batch: async (xs) =>
      scoreRewards(
        rm,
        tok,
        xs.map((x) => ({ prompt: x.prompt, completion: x.completion })),
      ),
  };
}

/**
 * An LLM judge's score: `score` asks the judge (the server passes one of its configured judges) and
 * returns a number (e.g. a 1-10 rating scaled to [0, 1]) or null when the judge could not answer.
 */
export function judgeReward(score: (x: RewardInput) => Promise<number | null>, name = "judge"): NamedReward {
  return { name, fn: score };
}
