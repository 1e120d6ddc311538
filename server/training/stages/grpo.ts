// The policy stage of a GRPO round (policy.method "grpo"): online RL on environments with
// verifiable rewards, instead of preference optimisation on pairs. The policy samples a group of
// completions per prompt, reward functions score them (the environment's checker, format, length,
// optionally a reward model and an LLM judge), and trainer/grpo.ts does the rest.
//
// Resumable like the other training stages: trainGRPO writes work/policy every `checkpointEvery`
// steps (weights, optimizer, step, the current generation batch) and generation is seeded by
// (seed, batch index), so a killed trainer's round continues where the checkpoint left it. The
// rollouts it learns from become Completion rows (browsable with the project's data; stored with
// skipDuplicates, so a resumed step never writes one twice), and `reviewSample` comparisons of
// them (best vs worst of a group) go to annotators.
import { Prisma } from "@prisma/client";
import {
  cloneModel,
  correctnessReward,
  disposeModel,
  formatReward,
  getEnvironment,
  judgeReward,
  lengthPenalty,
  rewardModelReward,
  saveCheckpoint,
  trainGRPO,
  type GPTModel,
  type GrpoPrompt,
  type GrpoRollout,
  type NamedReward,
} from "@/trainer";
import { db } from "@/server/db/client";
import { comparisonHash, completionHash } from "@/server/data/hash";
import { storableText } from "@/server/judges/content";
import type { RoundContext } from "../context";
import { loadModel, trainerPrompt } from "../models";
import type { TrainingSettings } from "../settings";
import { envProblemsFromMetadata, envPromptRows } from "../task";
import { judgeScorer } from "../grpo-judge";
import { stepReporter } from "./train";

interface PlannedPrompt {
  promptId: string;
  contentHash: string;
  env: string;
  problem: unknown;
  prompt: ReturnType<typeof trainerPrompt>;
}

/** The environments a GRPO round trains on: `grpo.environments`, else the project's task. */
export function grpoEnvironments(
  s: TrainingSettings,
): { name: string; weight: number; difficulty: number }[] {
  const list = s.grpo.environments.length
    ? s.grpo.environments
    : s.task !== "none"
      ? [{ name: s.task, weight: 1, difficulty: undefined }]
      : [];
  return list
    .filter((e) => e.weight > 0)
    .map((e) => ({ name: e.name, weight: e.weight, difficulty: e.difficulty ?? s.taskOptions.difficulty }));
}

/**
 * The round's training prompts, the same on every attempt: for the project's task its pool prompts
 * (those SFT did not see first), for any other environment problems of its train split, added to
 * the project as prompts (metadata {task, role: "grpo", problem}) so rollouts can be stored.
 */
async function planPrompts(ctx: RoundContext): Promise<PlannedPrompt[]> {
  const s = ctx.settings;
  const envs = grpoEnvironments(s);
  if (!envs.length)
    throw new Error(
      'GRPO needs an environment: set grpo.environments (e.g. [{"name": "miniR1"}]) or the project\'s task.',
    );
  const total = envs.reduce((a, e) => a + e.weight, 0);
  const out: PlannedPrompt[] = [];
  for (const e of envs) {
    const n = Math.max(1, Math.round((s.grpo.prompts * e.weight) / total));
    let hashes: string[] | null = null;
    if (e.name !== s.task) {
      const env = getEnvironment(e.name);
      const rows = envPromptRows(
        ctx.project.id,
        e.name,
        env.problems({ split: "train", n, seed: s.taskOptions.seed, difficulty: e.difficulty }),
        "train",
        "grpo",
      );
      for (let i = 0; i < rows.length; i += 1000)
        await db().prompt.createMany({ data: rows.slice(i, i + 1000), skipDuplicates: true });
      hashes = rows.map((r) => r.contentHash);
    }
    // Prompts sampled least so far by other rounds first (fresh prompts every round, as generation
    // picks them), SFT's own last; this round's rollouts do not count, so a resumed attempt plans
    // the very same prompts.
    const rows = await db().$queryRaw<
      Array<{ id: string; text: string | null; messages: unknown; metadata: unknown; contentHash: string }>
    >`
      SELECT p.id, p.text, p.messages, p.metadata, p."contentHash" FROM "Prompt" p
      LEFT JOIN (
        SELECT "promptId", count(*)::int AS n FROM "Completion"
        WHERE "projectId" = ${ctx.project.id} AND coalesce(metadata->>'roundId', '') <> ${ctx.id}
        GROUP BY "promptId"
      ) rc ON rc."promptId" = p.id
      WHERE p."projectId" = ${ctx.project.id} AND p.split = 'train' AND p.metadata->>'task' = ${e.name}
        ${hashes ? Prisma.sql`AND p."contentHash" = ANY(${hashes})` : Prisma.empty}
      ORDER BY coalesce(rc.n, 0) ASC, (p.metadata->>'role' = 'sft') ASC NULLS FIRST, p."contentHash" COLLATE "C" ASC, p.id
      LIMIT ${n}`;
    const problems = envProblemsFromMetadata(e.name, rows);
    for (const r of rows) {
      const problem = problems.get(r.id);
      if (problem === undefined) continue;
      out.push({
        promptId: r.id,
        contentHash: r.contentHash,
        env: e.name,
        problem,
        prompt: trainerPrompt(r),
      });
    }
  }
  if (!out.length) throw new Error("GRPO: no prompts of its environments in the project");
  return out;
}

async function rewardFunctions(
  ctx: RoundContext,
  owned: GPTModel[],
): Promise<{ rewards: NamedReward[]; used: Record<string, number> }> {
  const w = ctx.settings.grpo.rewards;
  const rewards: NamedReward[] = [];
  const used: Record<string, number> = {};
  const add = (r: NamedReward, weight: number) => {
    if (weight === 0) return;
    rewards.push({ ...r, weight });
    used[r.name] = weight;
  };
  add(correctnessReward(), w.correctness);
  add(formatReward(), w.format);
  const max = ctx.settings.grpo.maxCompletionLength;
  add(lengthPenalty({ free: Math.floor(max / 2), max }), w.length);
  if (w.rewardModel !== 0) {
    const rmRow = (await ctx.ownCheckpoint("reward")) ?? (await ctx.previousReward());
    if (!rmRow) throw new Error("grpo.rewards.rewardModel is set but the project has no reward model yet");
    const rm = await loadModel(ctx.opts.checkpointRoot, rmRow, "reward");
    owned.push(rm.model);
    add(rewardModelReward(rm.model, rm.tokenizer), w.rewardModel);
  }
  if (w.judge !== 0) {
    if (!w.judgeId) throw new Error("grpo.rewards.judge is set but grpo.rewards.judgeId names no judge");
    add(judgeReward(await judgeScorer(w.judgeId)), w.judge);
  }
  if (!rewards.length) throw new Error("GRPO: every reward weight is 0");
  return { rewards, used };
}

export async function grpoStage(ctx: RoundContext): Promise<Record<string, unknown>> {
  const s = ctx.settings;
  const g = s.grpo;
  const base = await ctx.currentPolicy();
  if (!base) throw new Error("no policy checkpoint to start from (the bootstrap stage did not run)");
  const refCk = s.policy.reference === "sft" ? ((await ctx.sftCheckpoint()) ?? base) : base;
  const plan = await planPrompts(ctx);
  const byId = new Map(plan.map((p) => [p.promptId, p]));
  const { model, tokenizer } = await loadModel(ctx.opts.checkpointRoot, base, "policy");
  const owned: GPTModel[] = [model];
  try {
    let reference: GPTModel | undefined;
    if (g.beta !== 0) {
      if (refCk.id === base.id) reference = cloneModel(model, { trainable: false });
      else {
        reference = (await loadModel(ctx.opts.checkpointRoot, refCk, "policy")).model;
        for (const v of reference.params.values()) v.trainable = false;
      }
      owned.push(reference);
    }
    const { rewards, used } = await rewardFunctions(ctx, owned);
    const prompts: GrpoPrompt[] = plan.map((p) => {
      const env = getEnvironment(p.env);
      return {
        prompt: p.prompt,
        key: p.promptId,
        check: (c: string) => env.check(p.problem, c),
        data: p.problem,
        env: p.env,
      };
    });
    const modelName = `${ctx.project.slug}-r${ctx.round.number}-grpo`;
    let stored = 0;
    const onRollouts = async (rs: GrpoRollout[]) => {
      if (!g.storeRollouts) return;
      const data = rs.map((r) => {
        const text = storableText(r.completion);
        return {
          projectId: ctx.project.id,
          promptId: r.key,
          contentHash: completionHash(text),
          text,
          modelName,
          samplingParams: {
            temperature: g.temperature,
            maxTokens: g.maxCompletionLength,
          } as Prisma.InputJsonValue,
          metadata: {
            roundId: ctx.id,
            roundNumber: ctx.round.number,
            source: "grpo",
            baseCheckpointId: base.id,
            grpo: {
              step: r.step,
              env: r.env,
              reward: r.reward,
              rewards: r.rewards,
              advantage: r.advantage,
              correct: r.correct,
              truncated: r.truncated,
              completionTokens: r.completionTokens,
            },
          } as Prisma.InputJsonValue,
        };
      });
      stored += (await db().completion.createMany({ data, skipDuplicates: true })).count;
    };
    const resumeFrom = await ctx.resumeDir("policy");
    const rep = stepReporter(ctx, "policy", g.steps);
    const res = await trainGRPO({
      model,
      reference,
      tokenizer,
      prompts,
      rewards,
      numGenerations: g.numGenerations,
      promptsPerStep: g.promptsPerStep,
      maxCompletionLength: g.maxCompletionLength,
      temperature: g.temperature,
      beta: g.beta,
      epsilon: g.epsilon,
      epsilonHigh: g.epsilonHigh ?? g.epsilon,
      numIterations: g.numIterations,
      lossType: g.lossType,
      scaleRewards: g.scaleRewards,
      maskTruncatedCompletions: g.maskTruncatedCompletions,
      config: {
        lr: g.lr,
        steps: g.steps,
        warmupSteps: Math.min(g.warmupSteps, g.steps - 1),
        minLrRatio: 0.5,
        seed: s.seed + ctx.round.number,
        logEvery: 1,
        checkpointEvery: s.checkpointEvery,
        checkpointDir: ctx.workDir("policy"),
        resumeFrom,
      },
      onStep: rep.onStep,
      onRollouts,
      // the policy token budget (policy.maxTokens) ends the stage like its step count
      shouldStop: () =>
        ctx.shouldStop() || (s.policy.maxTokens !== null && rep.tokens() >= s.policy.maxTokens),
      log: (m) => ctx.log(m),
    });
    ctx.checkStop();
    await ctx.flushMetrics();
    const review = g.reviewSample > 0 ? await reviewComparisons(ctx, byId, modelName, g.reviewSample) : 0;
    const last = res.history.at(-1) ?? ({} as Record<string, number>);
    const mean = (k: string) => {
      const v = res.history.map((h) => h[k]).filter((x): x is number => Number.isFinite(x));
      return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
    };
    const metrics = {
      method: "grpo",
      environments: grpoEnvironments(s),
      rewardWeights: used,
      beta: g.beta,
      lossType: g.lossType,
      numGenerations: g.numGenerations,
      numIterations: g.numIterations,
      referenceCheckpointId: g.beta !== 0 ? refCk.id : null,
      reference: s.policy.reference,
      baseCheckpointId: base.id,
      steps: res.steps,
      tokens: rep.tokens(),
      trainPrompts: plan.length,
      rolloutsStored: stored,
      reviewComparisons: review,
      finalLoss: last["loss"] ?? null,
      reward: last["reward"] ?? null,
      accuracy: last["accuracy"] ?? null,
      kl: last["kl"] ?? null,
      meanReward: mean("reward"),
      meanAccuracy: mean("accuracy"),
      "completions/mean_length": last["completions/mean_length"] ?? null,
      resumed: Boolean(resumeFrom),
    };
    await saveCheckpoint(ctx.abs(ctx.finalRel("policy")), {
      model,
      tokenizer,
      meta: { loop: "grpo", method: "grpo", project: ctx.project.slug, round: ctx.round.number },
    });
    const ck = await ctx.registerCheckpoint("policy", {
      parentId: base.id,
      snapshotId: ctx.round.snapshotId,
      promoted: false, // the gate decides
      metrics,
      config: model.config as object,
    });
    return { ...metrics, checkpointId: ck.id };
  } finally {
    for (const m of owned) disposeModel(m);
  }
}

/**
 * Up to n comparisons for people: per prompt, the best- and the worst-rewarded stored rollouts of
 * this round (when their rewards differ), so annotators check what the rewards taught.
 */
async function reviewComparisons(
  ctx: RoundContext,
  byId: Map<string, PlannedPrompt>,
  modelName: string,
  n: number,
): Promise<number> {
  const rows = await db().completion.findMany({
    where: { projectId: ctx.project.id, modelName },
    select: { id: true, promptId: true, contentHash: true, metadata: true },
    orderBy: [{ promptId: "asc" }, { id: "asc" }],
  });
  const groups = new Map<string, typeof rows>();
  for (const r of rows) groups.set(r.promptId, [...(groups.get(r.promptId) ?? []), r]);
  const reward = (r: (typeof rows)[number]) =>
    Number(((r.metadata ?? {}) as { grpo?: { reward?: number } }).grpo?.reward ?? 0);
  const data: Prisma.ComparisonCreateManyInput[] = [];
  for (const [promptId, g] of groups) {
    if (data.length >= n) break;
    const p = byId.get(promptId);
    if (!p || g.length < 2) continue;
    const sorted = [...g].sort((a, b) => reward(b) - reward(a));
    const best = sorted[0] as (typeof rows)[number];
    const worst = sorted[sorted.length - 1] as (typeof rows)[number];
    if (reward(best) === reward(worst)) continue;
    data.push({
      projectId: ctx.project.id,
      promptId,
      completionIds: [best.id, worst.id],
      contentHash: comparisonHash(p.contentHash, [best.contentHash, worst.contentHash]),
      source: "round",
      roundId: ctx.id,
      metadata: {
        roundNumber: ctx.round.number,
        grpoReview: true,
        rewards: [reward(best), reward(worst)],
      } as Prisma.InputJsonValue,
    });
  }
  if (!data.length) return 0;
  return (await db().comparison.createMany({ data, skipDuplicates: true })).count;
}
