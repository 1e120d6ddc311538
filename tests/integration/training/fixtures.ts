// Builders for training tests: a mini-R1 project with a micro training config (a few steps of
// each stage, so a whole round runs in seconds on CPU) and preference pairs already labeled.
import crypto from "node:crypto";
import os from "node:os";
import path from "node:path";
import { promises as fs } from "node:fs";
import type { Prisma } from "@prisma/client";
import { miniR1, Rng } from "@/trainer";
import { db } from "@/server/db/client";
import { completionHash, comparisonHash } from "@/server/data/hash";
import { recordJudgment } from "@/server/data/judgments";
import { mergeSettings, parseTrainingSettings, type TrainingSettingsInput } from "@/server/training/settings";
import { ensureTaskPrompts, problemsFromMetadata } from "@/server/training/task";

/** A round in seconds: the tiny preset's width, fewer layers, a handful of steps per stage. */
export const MICRO: TrainingSettingsInput = {
  task: "miniR1",
  taskOptions: { trainPrompts: 60, heldOutPrompts: 6, difficulty: 1, sftShare: 0.5 },
  model: { preset: "tiny", contextLength: 96, nLayer: 2, vocabSize: 300 },
  bootstrap: { steps: 8, batchSize: 8, lr: 3e-3, warmupSteps: 1 },
  reward: { steps: 6, batchSize: 4, lr: 1e-4 },
  policy: { steps: 6, epochs: null, batchSize: 4, lr: 5e-5 },
  evaluation: { prompts: 6, maxTokens: 20, klSamples: 4 },
  generation: { prompts: 6, samplesPerPrompt: 2, maxTokens: 20 },
  snapshot: { minTrainPairs: 2, validationFraction: 0.25 },
  labeling: { ruleJudge: true },
  checkpointEvery: 2,
};

export async function tempCheckpointRoot(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), "pw-train-"));
}

export async function makeTrainingProject(
  training: TrainingSettingsInput = {},
  opts: { overlap?: number; aiCounts?: boolean } = {},
) {
  const slug = `t-${crypto.randomBytes(4).toString("hex")}`;
  const settings = mergeSettings(MICRO, training);
  parseTrainingSettings(settings);
  return db().project.create({
    data: {
      slug,
      name: `Training ${slug}`,
      labelSchema: {
        kind: "pairwise",
        strength: true,
        allowTie: true,
        allowBothBad: true,
        axes: [],
        rationale: "optional",
        judgeReasoningSeparately: false,
      },
      overlap: opts.overlap ?? 1,
      aiCountsTowardConsensus: opts.aiCounts ?? true,
      settings: { training: settings } as Prisma.InputJsonValue,
    },
  });
}

/**
 * Labeled pairs on `n` pool prompts: target completion vs a noisy one, decided by an imported
 * judgment (so the comparison is complete and yields a pair at once). Idempotent for the same
 * (n, seed): the first prompts get the same pairs again.
 */
export async function seedPairs(projectId: string, n: number, seed = 3): Promise<number> {
  const p = await db().project.findUniqueOrThrow({ where: { id: projectId }, select: { settings: true } });
  await ensureTaskPrompts(projectId, parseTrainingSettings((p.settings as { training: unknown }).training));
  const prompts = await db().prompt.findMany({
    where: { projectId, split: "train" },
    orderBy: { contentHash: "desc" },
    take: n,
    select: { id: true, contentHash: true, metadata: true },
  });
  const problems = problemsFromMetadata(prompts);
  const rng = new Rng(seed);
  let made = 0;
  for (const pr of prompts) {
    const problem = problems.get(pr.id);
    if (!problem) continue;
    const texts = [miniR1.targetCompletion(problem), miniR1.noisyCompletion(problem, rng)];
    const ids: string[] = [];
    for (const text of texts) {
      const c = await db().completion.upsert({
        where: { promptId_contentHash: { promptId: pr.id, contentHash: completionHash(text) } },
        update: {},
        create: { projectId, promptId: pr.id, contentHash: completionHash(text), text, modelName: "fixture" },
      });
      ids.push(c.id);
    }
    const contentHash = comparisonHash(pr.contentHash, texts.map(completionHash));
    const cmp = await db().comparison.upsert({
      where: { projectId_contentHash: { projectId, contentHash } },
      update: {},
      create: { projectId, promptId: pr.id, completionIds: ids, contentHash, source: "import" },
    });
    await recordJudgment(db(), {
      idempotencyKey: `fixture:${cmp.id}`,
      comparisonId: cmp.id,
      origin: { kind: "import" },
      verdict: {
        kind: "pairwise",
        outcome: "win",
        winnerId: ids[0] as string,
        loserId: ids[1] as string,
        strength: 1,
      },
    });
    made++;
  }
  return made;
}

/** Row counts that must never double. */
export async function uniquenessReport(projectId: string) {
  const rounds = await db().trainingRound.findMany({ where: { projectId }, select: { id: true } });
  const roundIds = rounds.map((r) => r.id);
  const dupCheckpoints = await db().$queryRaw<Array<{ n: number }>>`
    SELECT count(*)::int AS n FROM (SELECT "roundId", kind FROM "Checkpoint" WHERE "projectId" = ${projectId} GROUP BY 1, 2 HAVING count(*) > 1) d`;
  const dupMetrics = await db().$queryRaw<Array<{ n: number }>>`
    SELECT count(*)::int AS n FROM (SELECT "roundId", stage, name, step FROM "MetricPoint" WHERE "roundId" = ANY(${roundIds}) GROUP BY 1, 2, 3, 4 HAVING count(*) > 1) d`;
  const dupComparisons = await db().$queryRaw<Array<{ n: number }>>`
    SELECT count(*)::int AS n FROM (SELECT "promptId", "completionIds" FROM "Comparison" WHERE "projectId" = ${projectId} GROUP BY 1, 2 HAVING count(*) > 1) d`;
  const dupCompletions = await db().$queryRaw<Array<{ n: number }>>`
    SELECT count(*)::int AS n FROM (SELECT "promptId", text FROM "Completion" WHERE "projectId" = ${projectId} GROUP BY 1, 2 HAVING count(*) > 1) d`;
  return {
    checkpoints: dupCheckpoints[0]?.n ?? 0,
    metrics: dupMetrics[0]?.n ?? 0,
    comparisons: dupComparisons[0]?.n ?? 0,
    completions: dupCompletions[0]?.n ?? 0,
  };
}
