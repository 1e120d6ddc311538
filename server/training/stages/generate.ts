// Stage 6: the project's current policy (the new one when the gate promoted it) writes
// completions for the next prompts (provenance: checkpoint, sampling, seed) and a prompt's
// distinct samples become comparisons for judges and annotators: pairs of consecutive samples in
// a pairwise project, one K-way comparison in a ranking project.
// Active learning: each comparison's priority is the reward model's uncertainty about it,
// 1 − 2·|σ(r_A − r_B) − ½| (1 = a coin flip, 0 = sure; for K-way comparisons, its least certain
// pair), so the queue serves what the reward model knows least first.
//
// Nothing doubles on a resume: the prompt plan is saved on the round before any sampling, samples
// are seeded by (round, prompt, sample), completions are unique per (prompt, content hash) and
// comparisons per (project, content hash): a re-run regenerates the same texts and adds nothing.
// (server/generation's generateComparisons does the same for admins' generation jobs; the round
// keeps its own loop for the per-comparison priorities, the resumable plan, and text a tiny policy
// may emit that PostgreSQL cannot store, such as NUL bytes.)
import type { Prisma } from "@prisma/client";
import {
  disposeModel,
  generateBatch,
  mixSeed,
  scoreRewards,
  type BpeTokenizer,
  type GenerateResult,
  type GPTModel,
} from "@/trainer";
import { db } from "@/server/db/client";
import { comparisonHash, completionHash } from "@/server/data/hash";
import { storableText } from "@/server/judges/content";
import type { RoundContext } from "../context";
import { labelComparisons } from "../labeling";
import { loadModel, trainerPrompt } from "../models";

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Priority of a comparison from reward scores: 1 − 2|σ(r_i − r_j) − ½| of its least certain pair, in [0, 1]. */
export function uncertaintyPriority(rewards: readonly number[]): number {
  let best = 0;
  for (let i = 0; i < rewards.length; i++) {
    for (let j = i + 1; j < rewards.length; j++)
      best = Math.max(best, 1 - 2 * Math.abs(sigmoid((rewards[i] as number) - (rewards[j] as number)) - 0.5));
  }
  return best;
}

/** The prompts a round asks comparisons for: fewest round comparisons first, SFT prompts last, never test. */
async function planPrompts(ctx: RoundContext, n: number): Promise<string[]> {
  if (n <= 0) return [];
  const rows = await db().$queryRaw<Array<{ id: string }>>`
    SELECT p.id FROM "Prompt" p
    LEFT JOIN LATERAL (SELECT count(*)::int AS n FROM "Comparison" c WHERE c."promptId" = p.id AND c.source = 'round') rc ON true
    WHERE p."projectId" = ${ctx.project.id} AND p.split <> 'test'
    ORDER BY rc.n ASC, (p.metadata->>'role' = 'sft') ASC NULLS FIRST, p."contentHash" COLLATE "C" ASC, p.id
    LIMIT ${n}`;
  return rows.map((r) => r.id);
}

export async function generateStage(ctx: RoundContext): Promise<Record<string, unknown>> {
  const s = ctx.settings.generation;
  const policyRow = await ctx.currentPolicy();
  if (!policyRow) throw new Error("no policy checkpoint to generate with");
  const saved = ctx.result["generatePlan"] as { promptIds: string[]; checkpointId: string } | undefined;
  const plan = saved ?? { promptIds: await planPrompts(ctx, s.prompts), checkpointId: policyRow.id };
  if (!saved) await ctx.saveResult({ generatePlan: plan });
  const genRow = plan.checkpointId === policyRow.id ? policyRow : await ctx.checkpointById(plan.checkpointId);

  const rmRow = (await ctx.ownCheckpoint("reward")) ?? (await ctx.previousReward());
  const policy = await loadModel(ctx.opts.checkpointRoot, genRow, "policy");
  let rm: { model: GPTModel; tokenizer: BpeTokenizer } | null = null;
  let completions = 0;
  let comparisons = 0;
  const prioritySum = { n: 0, sum: 0 };
  const comparisonIds: string[] = [];
  try {
    rm = rmRow ? await loadModel(ctx.opts.checkpointRoot, rmRow, "reward") : null;
    const prompts = await db().prompt.findMany({
      where: { id: { in: plan.promptIds } },
      select: { id: true, text: true, messages: true, contentHash: true },
    });
    const byId = new Map(prompts.map((p) => [p.id, p]));
    const samplingParams = { temperature: s.temperature, max_tokens: s.maxTokens };
    const ranking = ((ctx.project.labelSchema ?? {}) as { kind?: string }).kind === "ranking";
    // Samples are drawn for a chunk of prompts at once (generateBatch: one batch on the GPU with the
    // cuda backend, else one generation after another), each seeded by (round, prompt, sample).
    const chunk = Math.max(1, Math.floor(64 / Math.max(1, s.samplesPerPrompt)));
    let drawn = new Map<number, GenerateResult[]>();
    for (const [pi, promptId] of plan.promptIds.entries()) {
      ctx.checkStop();
      const p = byId.get(promptId);
      if (!p) continue; // deleted meanwhile
      const prompt = trainerPrompt(p);
      if (!drawn.has(pi)) {
        const idx: number[] = [];
        for (let j = pi; j < Math.min(plan.promptIds.length, pi + chunk); j++)
          if (byId.has(plan.promptIds[j] as string)) idx.push(j);
        const all = await generateBatch(
          policy.model,
          policy.tokenizer,
          idx.flatMap((j) =>
            Array.from({ length: s.samplesPerPrompt }, () =>
              trainerPrompt(byId.get(plan.promptIds[j] as string)!),
            ),
          ),
          {
            maxTokens: s.maxTokens,
            temperature: s.temperature,
            seeds: idx.flatMap((j) =>
              Array.from({ length: s.samplesPerPrompt }, (_, k) =>
                mixSeed(ctx.settings.seed, ctx.round.number, j, k),
              ),
            ),
          },
        );
        drawn = new Map(
          idx.map((j, n) => [j, all.slice(n * s.samplesPerPrompt, (n + 1) * s.samplesPerPrompt)]),
        );
      }
      const samples = drawn.get(pi) ?? [];
      // Distinct samples, in sampling order.
      const texts: string[] = [];
      const seeds: number[] = [];
      for (let k = 0; k < s.samplesPerPrompt; k++) {
        const seed = mixSeed(ctx.settings.seed, ctx.round.number, pi, k);
        const g = samples[k] as GenerateResult;
        const text = storableText(g.text);
        if (!texts.includes(text)) {
          texts.push(text);
          seeds.push(seed);
        }
      }
      if (texts.length < 2) {
        await ctx.progress({
          stage: "generate",
          step: pi + 1,
          totalSteps: plan.promptIds.length,
          message: "sampling",
        });
        continue;
      }
      const hashes = texts.map(completionHash);
      const ins = await db().completion.createMany({
        data: texts.map((text, k) => ({
          projectId: ctx.project.id,
          promptId,
          contentHash: hashes[k] as string,
          text,
          modelName: genRow.name,
          checkpointId: genRow.id,
          samplingParams: { ...samplingParams, seed: seeds[k] } as Prisma.InputJsonValue,
          metadata: { roundId: ctx.id, roundNumber: ctx.round.number } as Prisma.InputJsonValue,
        })),
        skipDuplicates: true,
      });
      completions += ins.count;
      const rows = await db().completion.findMany({
        where: { promptId, contentHash: { in: hashes } },
        select: { id: true, contentHash: true },
      });
      const idOf = new Map(rows.map((r) => [r.contentHash, r.id]));
      const scores = rm
        ? await scoreRewards(
            rm.model,
            rm.tokenizer,
            texts.map((completion) => ({ prompt, completion })),
          )
        : null;
      const data: Prisma.ComparisonCreateManyInput[] = [];
      // Pairwise projects: consecutive distinct samples in pairs; ranking projects: all of them, one K-way comparison.
      const groups: number[][] = ranking
        ? [texts.map((_, k) => k)]
        : Array.from({ length: Math.floor(texts.length / 2) }, (_, j) => [2 * j, 2 * j + 1]);
      for (const g of groups) {
        const ids = g.map((k) => idOf.get(hashes[k] as string));
        if (ids.some((x) => !x)) continue;
        const rewards = scores ? g.map((k) => scores[k] as number) : null;
        const priority = rewards ? uncertaintyPriority(rewards) : 0;
        prioritySum.n++;
        prioritySum.sum += priority;
        data.push({
          projectId: ctx.project.id,
          promptId,
          completionIds: ids as string[],
          contentHash: comparisonHash(
            p.contentHash,
            g.map((k) => hashes[k] as string),
          ),
          priority,
          source: "round",
          roundId: ctx.id,
          metadata: {
            roundNumber: ctx.round.number,
            checkpointId: genRow.id,
            rewards,
            priorityFrom: rewards ? "reward-model uncertainty" : null,
          } as Prisma.InputJsonValue,
        });
      }
      if (data.length)
        comparisons += (await db().comparison.createMany({ data, skipDuplicates: true })).count;
      await ctx.progress({
        stage: "generate",
        step: pi + 1,
        totalSteps: plan.promptIds.length,
        message: "sampling",
      });
    }
    const mine = await db().comparison.findMany({ where: { roundId: ctx.id }, select: { id: true } });
    comparisonIds.push(...mine.map((c) => c.id));
  } finally {
    disposeModel(policy.model);
    if (rm) disposeModel(rm.model);
  }

  // Unattended labeling (demo / benchmark): rule judge and/or simulated annotators.
  await ctx.progress({ stage: "generate", message: "labeling" }, true);
  const labeled = await labelComparisons(ctx, comparisonIds);
  return {
    checkpointId: genRow.id,
    checkpointName: genRow.name,
    prompts: plan.promptIds.length,
    completions,
    comparisons: comparisonIds.length,
    comparisonsAdded: comparisons,
    meanPriority: prioritySum.n ? prioritySum.sum / prioritySum.n : null,
    priorityFrom: rmRow?.name ?? null,
    labeled,
  };
}
