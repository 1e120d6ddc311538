// Evaluation of a policy on mini-R1: greedy (or sampled) generation checked by the gold reward.
import { generateBatch, type SamplingOptions } from "./generate";
import { chatPrompt, goldReward, type Problem } from "./miniR1";
import type { GPTModel } from "./model";
import type { BpeTokenizer } from "./tokenizer";

export interface MiniR1Eval {
  n: number;
  /** Share of problems whose final answer is correct. */
  accuracy: number;
  /** Share with the required <think>...</think>The answer is N. format. */
  formatRate: number;
  meanReward: number;
  samples: { question: string; answer: number; completion: string; correct: boolean }[];
}

/** Generates a completion per problem (greedy unless sampling options say otherwise) and scores it. */
export async function evaluateMiniR1(
  model: GPTModel,
  tok: BpeTokenizer,
  problems: readonly Problem[],
  sampling: SamplingOptions = {},
): Promise<MiniR1Eval> {
  let correct = 0;
  let fmt = 0;
  let reward = 0;
  const samples: MiniR1Eval["samples"] = [];
  // all problems at once: one batch on the GPU with the cuda backend, else one after another
  const { onToken: _onToken, promptIds: _ids, ...opts } = sampling;
  const results = await generateBatch(
    model,
    tok,
    problems.map((p) => chatPrompt(p)),
    { maxTokens: 64, temperature: 0, ...opts },
  );
  for (const [i, p] of problems.entries()) {
    const r = results[i] as (typeof results)[number];
    const g = goldReward(p, r.text);
    correct += g.correct ? 1 : 0;
    fmt += g.formatOk ? 1 : 0;
    reward += g.reward;
    samples.push({ question: p.question, answer: p.answer, completion: r.text, correct: g.correct });
  }
  const n = problems.length;
  return { n, accuracy: correct / n, formatRate: fmt / n, meanReward: reward / n, samples };
}
