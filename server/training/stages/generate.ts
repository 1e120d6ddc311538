// Stage 6: the project's current policy (the new one when the gate promoted it) writes
// completions for the next prompts, and consecutive distinct samples of a prompt become
// comparisons for the judges and annotators. Active learning: a comparison's priority is the
// reward model's uncertainty about it, 1 − 2·|σ(r_A − r_B) − ½| (1 = a coin flip, 0 = sure),
// so the queue serves the pairs the reward model knows least about first.
//
// Nothing doubles on a resume: the prompt plan is saved on the round before any sampling, samples
// are seeded by (round, prompt, sample), completions are unique per (prompt, content hash) and
// comparisons per (project, content hash).
import type { Prisma } from "@prisma/client";
import { disposeModel, generate, mixSeed, scoreRewards, type BpeTokenizer, type GPTModel } from "@/trainer";
import { db } from "@/server/db/client";
import { comparisonHash, completionHash } from "@/server/data/hash";
import type { RoundContext } from "../context";
import { labelComparisons } from "../labeling";
import { loadModel, trainerPrompt } from "../models";

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Priority of a two-way comparison from reward scores: 1 − 2|σ(rA − rB) − ½|, in [0, 1]. */
export function uncertaintyPriority(rA: number, rB: number): number {
  return 1 - 2 * Math.abs(sigmoid(rA - rB) - 0.5);
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
    const prompts = await db().prompt.findMany({ where: { id: { in: plan.promptIds } }, select: { id: true, text: true, messages: true, contentHash: true } });
    const byId = new Map(prompts.map((p) => [p.id, p]));
    const samplingParams = { temperature: s.temperature, maxTokens: s.maxTokens };
    for (const [pi, promptId] of plan.promptIds.entries()) {
      ctx.checkStop();
      const p = byId.get(promptId);
      if (!p) continue; // deleted meanwhile
      const prompt = trainerPrompt(p);
      // Distinct samples, in sampling order.
      const texts: string[] = [];
      for (let k = 0; k < s.samplesPerPrompt; k++) {
        const seed = mixSeed(ctx.settings.seed, ctx.round.number, pi, k);
        const g = await generate(policy.model, policy.tokenizer, prompt, { maxTokens: s.maxTokens, temperature: s.temperature, seed });
        if (!texts.includes(g.text)) texts.push(g.text);
      }
      if (texts.length < 2) {
        await ctx.progress({ stage: "generate", step: pi + 1, totalSteps: plan.promptIds.length, message: "sampling" });
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
          samplingParams: { ...samplingParams, seed: mixSeed(ctx.settings.seed, ctx.round.number, pi, k) } as Prisma.InputJsonValue,
          metadata: { roundId: ctx.id, roundNumber: ctx.round.number } as Prisma.InputJsonValue,
        })),
        skipDuplicates: true,
      });
      completions += ins.count;
      const rows = await db().completion.findMany({ where: { promptId, contentHash: { in: hashes } }, select: { id: true, contentHash: true } });
      const idOf = new Map(rows.map((r) => [r.contentHash, r.id]));
      const scores = rm ? await scoreRewards(rm.model, rm.tokenizer, texts.map((completion) => ({ prompt, completion }))) : null;
      const data: Prisma.ComparisonCreateManyInput[] = [];
      for (let k = 0; k + 1 < texts.length; k += 2) {
        const a = idOf.get(hashes[k] as string);
        const b = idOf.get(hashes[k + 1] as string);
        if (!a || !b) continue;
        const priority = scores ? uncertaintyPriority(scores[k] as number, scores[k + 1] as number) : 0;
        prioritySum.n++;
        prioritySum.sum += priority;
        data.push({
          projectId: ctx.project.id,
          promptId,
          completionIds: [a, b],
          contentHash: comparisonHash(p.contentHash, [hashes[k] as string, hashes[k + 1] as string]),
          priority,
          source: "round",
          roundId: ctx.id,
          metadata: { roundNumber: ctx.round.number, checkpointId: genRow.id, rewards: scores ? [scores[k], scores[k + 1]] : null } as Prisma.InputJsonValue,
        });
      }
      if (data.length) comparisons += (await db().comparison.createMany({ data, skipDuplicates: true })).count;
      await ctx.progress({ stage: "generate", step: pi + 1, totalSteps: plan.promptIds.length, message: "sampling" });
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
