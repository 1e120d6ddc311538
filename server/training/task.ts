// The built-in task (mini-R1) as the trainer service sees it: its prompts in the project (a pool
// for SFT and generation, held-out test prompts for evaluation), the target completions that
// bootstrap SFT, and the gold reward of a completion. Prompts carry their problem in metadata
// ({task: "miniR1", problem: {id, answer, question}}), as the demo seed writes them; the problem
// id "r1-<seed>-<difficulty>-<index>" regenerates the whole problem (its steps) from the task's
// generator, so the target completion never has to be stored.
import { Prisma } from "@prisma/client";
import { envJudgeScore, getEnvironment, miniR1 } from "@/trainer";
import { db } from "@/server/db/client";
import { promptHash } from "@/server/data/hash";
import { knownAnswer } from "@/server/judges/content";
import type { TrainingSettings } from "./settings";

export type Problem = miniR1.Problem;

/** Seeds of the problems the trainer adds (the demo seed uses 7 for its 40 prompts). */
export const POOL_SEED_BASE = 100;
export const HELD_OUT_SEED_BASE = 900_000;

/** The programmatic answer a prompt carries (metadata.answer or metadata.problem.answer), if any. */
export function promptAnswer(metadata: unknown): number | null {
  return knownAnswer(null, metadata);
}

/** Regenerates mini-R1 problems from their ids; unknown or mismatching ids are left out. */
export function problemsFromMetadata(
  prompts: ReadonlyArray<{ id: string; metadata: unknown }>,
): Map<string, Problem> {
  const wanted = new Map<string, Array<{ promptId: string; index: number; question: string | null }>>();
  for (const p of prompts) {
    const prob = ((p.metadata ?? {}) as { problem?: { id?: unknown; question?: unknown } }).problem;
    const m = typeof prob?.id === "string" ? /^r1-(-?\d+)-([123])-(\d+)$/.exec(prob.id) : null;
    if (!m) continue;
    const key = `${m[1]}:${m[2]}`;
    const list = wanted.get(key) ?? [];
    list.push({
      promptId: p.id,
      index: Number(m[3]),
      question: typeof prob?.question === "string" ? prob.question : null,
    });
    wanted.set(key, list);
  }
  const out = new Map<string, Problem>();
  for (const [key, list] of wanted) {
    const [seed, difficulty] = key.split(":").map(Number) as [number, number];
    const n = Math.max(...list.map((x) => x.index)) + 1;
    const problems = miniR1.makeProblems(seed, n, { difficulty });
    for (const x of list) {
      const p = problems[x.index];
      if (p && (x.question === null || x.question === p.question)) out.set(x.promptId, p);
    }
  }
  return out;
}

/**
 * Gold reward of a completion: the checker of the environment a prompt's metadata names
 * ({task: "sorting" | "code" | "tictactoe", problem}), else mini-R1's checker for a prompt with a
 * known numeric answer, else null.
 */
export async function goldRewardOf(
  metadata: unknown,
  completion: string,
): Promise<{ reward: number; correct: boolean; formatOk: boolean } | null> {
  const task = ((metadata ?? {}) as { task?: unknown }).task;
  if (typeof task === "string" && task !== "miniR1") {
    const r = await envJudgeScore(metadata, completion);
    if (r) return { reward: r.reward, correct: r.correct, formatOk: r.formatOk };
  }
  const answer = promptAnswer(metadata);
  return answer === null ? null : miniR1.goldReward({ answer }, completion);
}

/** Problems of an environment's prompts ({task: env, problem} in metadata), by prompt id. */
export function envProblemsFromMetadata(
  envName: string,
  prompts: ReadonlyArray<{ id: string; metadata: unknown }>,
): Map<string, unknown> {
  if (envName === "miniR1") return problemsFromMetadata(prompts);
  const env = getEnvironment(envName);
  const out = new Map<string, unknown>();
  for (const p of prompts) {
    const m = (p.metadata ?? {}) as { task?: unknown; problem?: unknown };
    if (m.task !== envName) continue;
    const prob = env.parse(m.problem);
    if (prob !== null) out.set(p.id, prob);
  }
  return out;
}

/** Prompt rows (contentHash, messages, metadata) of an environment's problems. */
export function envPromptRows(
  projectId: string,
  envName: string,
  problems: readonly unknown[],
  split: "train" | "test",
  role: string,
) {
  const env = getEnvironment(envName);
  return problems.map((p) => {
    const messages = env.prompt(p);
    return {
      projectId,
      contentHash: promptHash({ messages }),
      messages: messages as unknown as Prisma.InputJsonValue,
      metadata: { task: envName, role, problem: p } as Prisma.InputJsonValue,
      split,
    };
  });
}

/**
 * Makes sure a mini-R1 project has the task's prompts: `trainPrompts` pool prompts (split train)
 * and `heldOutPrompts` test prompts. Idempotent (prompts are unique by content hash).
 */
export async function ensureTaskPrompts(
  projectId: string,
  settings: TrainingSettings,
): Promise<{ added: number; pool: number; heldOut: number }> {
  if (settings.task === "none") return { added: 0, pool: 0, heldOut: 0 };
  const o = settings.taskOptions;
  if (settings.task !== "miniR1") {
    // Any other environment: its own seeded splits (disjoint by construction).
    const env = getEnvironment(settings.task);
    const heldRows = envPromptRows(
      projectId,
      env.name,
      env.problems({ split: "test", n: o.heldOutPrompts, seed: o.seed, difficulty: o.difficulty }),
      "test",
      "heldout",
    );
    const poolRows = envPromptRows(
      projectId,
      env.name,
      env.problems({ split: "train", n: o.trainPrompts, seed: o.seed, difficulty: o.difficulty }),
      "train",
      "pool",
    );
    let added = 0;
    for (const batch of [heldRows, poolRows])
      for (let i = 0; i < batch.length; i += 1000)
        added += (await db().prompt.createMany({ data: batch.slice(i, i + 1000), skipDuplicates: true }))
          .count;
    return { added, pool: poolRows.length, heldOut: heldRows.length };
  }
  const rows = (problems: Problem[], split: "train" | "test", role: "pool" | "heldout") =>
    problems.map((p) => {
      const messages = miniR1.chatPrompt(p);
      return {
        projectId,
        contentHash: promptHash({ messages }),
        messages: messages as unknown as Prisma.InputJsonValue,
        metadata: { task: "miniR1", role, problem: { id: p.id, answer: p.answer, question: p.question } },
        split,
      };
    });
  // Held-out prompts first: a held-out problem that happens to equal a pool problem stays held out.
  const held = rows(
    miniR1.makeProblems(HELD_OUT_SEED_BASE + o.seed, o.heldOutPrompts, { difficulty: o.difficulty }),
    "test",
    "heldout",
  );
  const pool = rows(
    miniR1.makeProblems(POOL_SEED_BASE + o.seed, o.trainPrompts, { difficulty: o.difficulty }),
    "train",
    "pool",
  );
  let added = 0;
  for (const batch of [held, pool]) {
    for (let i = 0; i < batch.length; i += 1000) {
      const r = await db().prompt.createMany({ data: batch.slice(i, i + 1000), skipDuplicates: true });
      added += r.count;
    }
  }
  return { added, pool: pool.length, heldOut: held.length };
}
