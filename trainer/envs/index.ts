// The environment registry: tasks with verifiable answers to train with GRPO and to evaluate on
// (held-out splits), each also a rule judge (envJudgeScore). See types.ts for the contract.
import { generate } from "../generate";
import type { GPTModel } from "../model";
import type { CheckResult } from "../rewards";
import type { BpeTokenizer, ChatMessage } from "../tokenizer";
import type { GrpoPrompt } from "../grpo";
import { codeEnv } from "./code";
import { miniR1Env } from "./miniR1";
import { sortingEnv } from "./sorting";
import { ticTacToeEnv } from "./tictactoe";
import type { Environment, GameResult } from "./types";

export type { Environment, GameResult, PolicyFn, ProblemOptions, Split } from "./types";
export { splitOfKey, finalAnswer, answerFormatOk } from "./types";
export { miniR1Env } from "./miniR1";
export { sortingEnv } from "./sorting";
export { codeEnv, runTests, extractCode } from "./code";
export { ticTacToeEnv } from "./tictactoe";

export const ENVIRONMENTS: Readonly<Record<string, Environment>> = {
  miniR1: miniR1Env as Environment,
  sorting: sortingEnv as Environment,
  code: codeEnv as Environment,
  tictactoe: ticTacToeEnv as Environment,
};
export const ENVIRONMENT_NAMES = Object.keys(ENVIRONMENTS);

export function getEnvironment(name: string): Environment {
  const e = ENVIRONMENTS[name];
  if (!e) throw new Error(`Unknown environment "${name}"; use one of ${ENVIRONMENT_NAMES.join(", ")}`);
  return e;
}

/** GRPO prompts of an environment's problems (the checker attached). */
export function grpoPrompts<P>(env: Environment<P>, problems: readonly P[]): GrpoPrompt[] {
  return problems.map((p) => ({
    prompt: env.prompt(p),
    key: `${env.name}:${env.key(p)}`,
    check: (c: string) => env.check(p, c),
    data: p,
    env: env.name,
  }));
}

/**
 * The environment as a rule judge: a prompt's metadata {task: <env>, problem} and a completion to a
 * score in [0, 1] (0.8 × the checker's score + 0.2 × format, the weights of mini-R1's gold reward),
 * or null when the metadata names no environment or its problem does not parse.
 */
export async function envJudgeScore(
  metadata: unknown,
  completion: string,
): Promise<(CheckResult & { reward: number; env: string }) | null> {
  const m = (metadata ?? {}) as { task?: unknown; problem?: unknown };
  if (typeof m.task !== "string" || !ENVIRONMENTS[m.task]) return null;
  const env = ENVIRONMENTS[m.task] as Environment;
  const p = env.parse(m.problem);
  if (p === null) return null;
  const r = await env.check(p, completion);
  return { ...r, reward: 0.8 * r.score + 0.2 * (r.formatOk ? 1 : 0), env: env.name };
}

export interface EnvEval {
  env: string;
  n: number;
  /** Share the checker calls correct (greedy). */
  accuracy: number;
  meanScore: number;
  formatRate: number;
  /** Games: win/draw/loss per opponent. */
  games?: GameResult[];
  samples: { prompt: string; completion: string; correct: boolean }[];
}

/**
 * Greedy evaluation on problems (normally the held-out split): accuracy, mean score, format rate;
 * for games also `games` whole games against each opponent.
 */
export async function evaluateEnvironment<P>(
  model: GPTModel,
  tok: BpeTokenizer,
  env: Environment<P>,
  problems: readonly P[],
  o: { maxTokens?: number; games?: number; seed?: number; samples?: number } = {},
): Promise<EnvEval> {
  let correct = 0;
  let score = 0;
  let fmt = 0;
  const samples: EnvEval["samples"] = [];
  for (const p of problems) {
    const prompt = env.prompt(p);
    const g = await generate(model, tok, prompt, { maxTokens: o.maxTokens ?? 64, temperature: 0 });
    const r = await env.check(p, g.text);
    correct += r.correct ? 1 : 0;
    score += r.score;
    fmt += r.formatOk ? 1 : 0;
    if (samples.length < (o.samples ?? 5))
      samples.push({
        prompt: prompt.map((m) => m.content).join("\n"),
        completion: g.text,
        correct: r.correct,
      });
  }
  const n = Math.max(1, problems.length);
  const out: EnvEval = {
    env: env.name,
    n: problems.length,
    accuracy: correct / n,
    meanScore: score / n,
    formatRate: fmt / n,
    samples,
  };
  if (env.play && env.opponents && (o.games ?? 0) > 0) {
    const policy = async (prompt: ChatMessage[]) =>
      (await generate(model, tok, prompt, { maxTokens: o.maxTokens ?? 64, temperature: 0 })).text;
    out.games = [];
    for (const opponent of env.opponents)
      out.games.push(await env.play(policy, { opponent, games: o.games as number, seed: o.seed }));
  }
  return out;
}
