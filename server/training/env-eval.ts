// Every environment's held-out score of a checkpoint (evaluation stage): greedy answers to the
// environment's held-out problems, checked by its checker; for games, whole games against each
// fixed opponent (win / draw / loss rates). Cached on the checkpoint (metrics.envEval), so each
// checkpoint is evaluated once per setting. The project's task is scored by the evaluation
// stage's gold accuracy on its held-out prompts and reported here under its name too.
import type { Checkpoint, Prisma } from "@prisma/client";
import { disposeModel, evaluateEnvironment, getEnvironment } from "@/trainer";
import { db } from "@/server/db/client";
import type { RoundContext } from "./context";
import { loadModel } from "./models";
import { grpoEnvironments } from "./stages/grpo";

export interface EnvScore {
  n: number;
  accuracy: number | null;
  meanScore?: number;
  formatRate: number | null;
  games?: { opponent: string; games: number; win: number; draw: number; loss: number; forfeits: number }[];
}

/** The environments a round reports: evaluation.environments, the GRPO environments, the task. */
export function reportedEnvironments(ctx: RoundContext): string[] {
  const s = ctx.settings;
  const names = new Set<string>(s.evaluation.environments);
  if (s.policy.method === "grpo") for (const e of grpoEnvironments(s)) names.add(e.name);
  if (s.task !== "none") names.delete(s.task);
  return [...names].sort();
}

export async function evaluateEnvironments(
  ctx: RoundContext,
  c: Checkpoint,
  task: { n: number; accuracy: number | null; formatRate: number | null },
): Promise<Record<string, EnvScore>> {
  const s = ctx.settings;
  const out: Record<string, EnvScore> = {};
  if (s.task !== "none") out[s.task] = { n: task.n, accuracy: task.accuracy, formatRate: task.formatRate };
  const names = reportedEnvironments(ctx);
  if (!names.length || s.evaluation.environmentPrompts === 0) return out;
  const key = `${s.evaluation.environmentPrompts}|${s.evaluation.games}|${s.evaluation.maxTokens}|${s.taskOptions.seed}|${s.taskOptions.difficulty}`;
  const cached = ((c.metrics ?? {}) as { envEval?: { key: string; scores: Record<string, EnvScore> } })
    .envEval;
  const have = cached?.key === key ? cached.scores : {};
  const missing = names.filter((n) => !have[n]);
  if (missing.length) {
    const { model, tokenizer } = await loadModel(ctx.opts.checkpointRoot, c, "policy");
    try {
      for (const name of missing) {
        ctx.checkStop();
        await ctx.progress({ stage: "evaluate", message: `held-out ${name} of ${c.name}` }, true);
        const env = getEnvironment(name);
        const difficulty =
          s.grpo.environments.find((e) => e.name === name)?.difficulty ?? s.taskOptions.difficulty;
        const problems = env.problems({
          split: "test",
          n: s.evaluation.environmentPrompts,
          seed: s.taskOptions.seed,
          difficulty,
        });
        const r = await evaluateEnvironment(model, tokenizer, env, problems, {
          maxTokens: s.evaluation.maxTokens,
          games: s.evaluation.games,
          seed: s.taskOptions.seed,
        });
        have[name] = {
          n: r.n,
          accuracy: r.accuracy,
          meanScore: r.meanScore,
          formatRate: r.formatRate,
          ...(r.games ? { games: r.games } : {}),
        };
      }
    } finally {
      disposeModel(model);
    }
    const fresh = await db().checkpoint.findUniqueOrThrow({ where: { id: c.id }, select: { metrics: true } });
    const metrics = { ...((fresh.metrics ?? {}) as object), envEval: { key, scores: have } };
    await db().checkpoint.update({
      where: { id: c.id },
      data: { metrics: metrics as unknown as Prisma.InputJsonValue },
    });
  }
  for (const n of names) out[n] = have[n] as EnvScore;
  return out;
}

/** Metric points of the scores: env/<name>/accuracy, env/<name>/<opponent>/{win,draw,loss}. */
export function envMetrics(scores: Record<string, EnvScore>): Record<string, number | undefined> {
  const m: Record<string, number | undefined> = {};
  for (const [name, e] of Object.entries(scores)) {
    m[`env/${name}/accuracy`] = e.accuracy ?? undefined;
    for (const g of e.games ?? []) {
      const n = Math.max(1, g.games);
      m[`env/${name}/${g.opponent}/win`] = g.win / n;
      m[`env/${name}/${g.opponent}/draw`] = g.draw / n;
      m[`env/${name}/${g.opponent}/loss`] = g.loss / n;
    }
  }
  return m;
}
