// The one place that says what a round started now would do, before it starts: bootstrap or not,
// how many train pairs its snapshot would hold against the minimum the reward and policy stages
// need, and why pairs are missing (comparisons still short of the overlap, fewer annotators than
// the overlap, no consensus, ties). "Run now" is refused when the round would train nothing: the
// project has a policy already and too few train pairs. Read by the training page (tRPC
// training.preflight) and by API clients (GET /api/v1/projects/{project}/rounds/plan). No trainer
// import: this runs in the web app.
import { Prisma } from "@prisma/client";
import { db } from "@/server/db/client";
import { DomainError } from "@/server/errors";
import { pairFilterSql } from "@/server/data/snapshots";
import { requestAndEnqueue } from "./jobs";
import type { RequestRoundResult } from "./rounds";
import { trainingSettingsOf, type TrainingSettings } from "./settings";
import { SPLIT_SEED } from "./stages/snapshot";
import { newPairsSinceLastRound } from "./triggers";

export interface RoundPreflight {
  /** The project has no policy yet: the round first trains a tokenizer and an SFT policy. */
  bootstrap: boolean;
  pairs: number;
  trainPairs: number;
  minTrainPairs: number;
  /** The reward and policy stages will train (enough train pairs, or GRPO, which needs none). */
  trains: boolean;
  /** The policy method (settings.policy.method) and which pairs it trains on. */
  method: string;
  policyPairs: "all" | "new";
  /** Active pairs not in the last round's snapshot (what policy.pairs "new" trains on). */
  newPairs: number;
  /** The round's own comparisons are labeled by the rule judge or simulated annotators. */
  unattendedLabeling: boolean;
  /** What the round will do, stage by stage, in words. */
  plan: string[];
  /** Why there are not more pairs, in words (empty when nothing is missing). */
  missing: string[];
  /** Why "run now" is refused, or null when it may run. */
  refusal: string | null;
  counts: {
    comparisons: number;
    unjudged: number;
    waitingForOverlap: number;
    review: number;
    flagged: number;
    decidedWithoutPair: number;
    gold: number;
    annotators: number;
    aiJudgments: number;
    overlap: number;
    aiCountsTowardConsensus: boolean;
  };
}

const n = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

export async function roundPreflight(projectIdOrSlug: string): Promise<RoundPreflight> {
  const p = await db().project.findFirst({
    where: { OR: [{ id: projectIdOrSlug }, { slug: projectIdOrSlug }] },
    select: { id: true, overlap: true, aiCountsTowardConsensus: true, settings: true },
  });
  if (!p) throw new DomainError("not_found", `No project ${projectIdOrSlug}.`);
  let settings: TrainingSettings;
  try {
    settings = trainingSettingsOf(p.settings);
  } catch (e) {
    throw new DomainError("bad_request", `The training settings are invalid: ${(e as Error).message}`);
  }
  const s = settings.snapshot;
  const filter = pairFilterSql("pp", { minAgreement: s.minAgreement, origins: s.origins });
  // The same split rule as createSnapshot (server/data/snapshots.ts) with the round's seed.
  const [split] = await db().$queryRaw<Array<{ pairs: number; train: number }>>(Prisma.sql`
    SELECT count(*)::int AS pairs,
      count(*) FILTER (WHERE pr.split = 'train'
        AND ('x' || substr(md5(${SPLIT_SEED} || pr."contentHash"), 1, 7))::bit(28)::int / 268435456.0 >= ${s.validationFraction})::int AS train
    FROM "PreferencePair" pp JOIN "Prompt" pr ON pr.id = pp."promptId"
    WHERE pp."projectId" = ${p.id} AND pp.active ${filter}`);
  const [c] = await db().$queryRaw<
    Array<{
      comparisons: number;
      unjudged: number;
      waiting: number;
      review: number;
      flagged: number;
      decided_no_pair: number;
      gold: number;
    }>
  >(Prisma.sql`
    SELECT count(*)::int AS comparisons,
      count(*) FILTER (WHERE NOT c."isGold" AND c.status = 'open' AND c."judgmentCount" = 0)::int AS unjudged,
      count(*) FILTER (WHERE NOT c."isGold" AND c.status = 'open' AND c."judgmentCount" > 0)::int AS waiting,
      count(*) FILTER (WHERE NOT c."isGold" AND c.status = 'review')::int AS review,
      count(*) FILTER (WHERE c.status = 'flagged')::int AS flagged,
      count(*) FILTER (WHERE NOT c."isGold" AND c.status IN ('complete', 'adjudicated')
        AND NOT EXISTS (SELECT 1 FROM "PreferencePair" q WHERE q."comparisonId" = c.id AND q.active))::int AS decided_no_pair,
      count(*) FILTER (WHERE c."isGold")::int AS gold
    FROM "Comparison" c WHERE c."projectId" = ${p.id}`);
  const [who] = await db().$queryRaw<Array<{ annotators: number; ai: number }>>(Prisma.sql`
    SELECT count(DISTINCT j."userId") FILTER (WHERE j.source = 'human')::int AS annotators,
      count(*) FILTER (WHERE j.source = 'ai')::int AS ai
    FROM "Judgment" j WHERE j."projectId" = ${p.id} AND j."supersededAt" IS NULL`);
  const policy = await db().checkpoint.findFirst({
    where: { projectId: p.id, kind: { in: ["policy", "sft"] }, promoted: true },
    select: { name: true },
  });

  const pairs = split?.pairs ?? 0;
  const trainPairs = split?.train ?? 0;
  const min = s.minTrainPairs;
  const needsPairs = settings.policy.method !== "grpo";
  const enough = trainPairs >= min;
  const trains = enough || !needsPairs;
  const newPairs = settings.policy.pairs === "new" ? await newPairsSinceLastRound(p.id) : pairs;
  const labeling = settings.labeling.ruleJudge || settings.labeling.simulatedAnnotators > 0;
  const counts = {
    comparisons: c?.comparisons ?? 0,
    unjudged: c?.unjudged ?? 0,
    waitingForOverlap: c?.waiting ?? 0,
    review: c?.review ?? 0,
    flagged: c?.flagged ?? 0,
    decidedWithoutPair: c?.decided_no_pair ?? 0,
    gold: c?.gold ?? 0,
    annotators: who?.annotators ?? 0,
    aiJudgments: who?.ai ?? 0,
    overlap: p.overlap,
    aiCountsTowardConsensus: p.aiCountsTowardConsensus,
  };

  const missing: string[] = [];
  {
    // also when the round trains: the admin sees what holds more pairs back
    if (counts.comparisons === 0)
      missing.push(
        "The project has no comparisons yet: import some (Admin › Data), or let a round generate them.",
      );
    if (counts.waitingForOverlap > 0) {
      missing.push(
        `${n(counts.waitingForOverlap, "comparison has", "comparisons have")} judgments but fewer than the ${counts.overlap} (the project's overlap) a comparison needs before it makes pairs.`,
      );
      if (counts.annotators < counts.overlap)
        missing.push(
          `Only ${n(counts.annotators, "annotator has", "annotators have")} judged, and nobody judges the same comparison twice: with overlap ${counts.overlap}, ${counts.overlap} different people must judge each comparison. Invite more annotators, or lower the overlap in the project's settings.`,
        );
    }
    if (counts.aiJudgments > 0 && !counts.aiCountsTowardConsensus)
      missing.push(
        `${n(counts.aiJudgments, "AI-judge verdict does", "AI-judge verdicts do")} not count toward consensus in this project (project settings).`,
      );
    if (counts.unjudged > 0)
      missing.push(`${n(counts.unjudged, "comparison has", "comparisons have")} no judgment yet.`);
    if (counts.review > 0)
      missing.push(
        `${n(counts.review, "comparison", "comparisons")} reached the overlap without agreement and ${counts.review === 1 ? "waits" : "wait"} for a reviewer (Review).`,
      );
    if (counts.decidedWithoutPair > 0)
      missing.push(
        `${n(counts.decidedWithoutPair, "comparison was", "comparisons were")} decided as a tie or "both bad", which makes no pair.`,
      );
    if (counts.flagged > 0)
      missing.push(`${n(counts.flagged, "comparison is", "comparisons are")} flagged and make no pairs.`);
    if (pairs > trainPairs)
      missing.push(
        `${n(pairs - trainPairs, "pair is", "pairs are")} held out for validation (${Math.round(s.validationFraction * 100)}% of prompts).`,
      );
  }
  if (settings.policy.pairs === "new" && needsPairs && newPairs < pairs)
    missing.push(
      `The policy trains only on pairs new since the last round (${newPairs} of ${pairs}): the training settings say policy.pairs "new".`,
    );

  const plan: string[] = [];
  if (!policy) plan.push("Bootstrap: train a tokenizer and a first SFT policy on the project's prompts.");
  plan.push(`Snapshot: freeze ${n(pairs, "preference pair")} (${trainPairs} for training).`);
  plan.push(
    enough
      ? `Reward model and ${settings.policy.method} policy: train on ${n(trainPairs, "pair")}, then evaluate and gate the new policy.`
      : needsPairs
        ? `Reward model and policy: skipped (only ${n(trainPairs, "train pair")}; at least ${min} needed).`
        : `Reward model: skipped (only ${n(trainPairs, "train pair")}; at least ${min} needed). Policy: ${settings.policy.method} on its environments (no pairs needed), then evaluate and gate it.`,
  );
  plan.push(
    `Generate: ${n(settings.generation.prompts, "prompt")} × ${settings.generation.samplesPerPrompt} samples from the ${trains ? "promoted" : "current"} policy become new comparisons${labeling ? ", labeled by " + [settings.labeling.ruleJudge ? "the rule judge" : "", settings.labeling.simulatedAnnotators ? n(settings.labeling.simulatedAnnotators, "simulated annotator") : ""].filter(Boolean).join(" and ") : " for annotators"}.`,
  );

  const refusal =
    !trains && policy
      ? `Nothing to train: only ${n(trainPairs, "train pair")} (at least ${min} needed), and the project already has a policy (${policy.name}).${missing.length ? " " + missing.join(" ") : ""}`
      : null;
  return {
    bootstrap: !policy,
    pairs,
    trainPairs,
    minTrainPairs: min,
    trains,
    method: settings.policy.method,
    policyPairs: settings.policy.pairs,
    newPairs,
    unattendedLabeling: labeling,
    plan,
    missing,
    refusal,
    counts,
  };
}

/** "Run a round now" from the training page: refused, with the reason, when it would train nothing. */
export async function runRoundNow(projectId: string, requestedById: string): Promise<RequestRoundResult> {
  const pre = await roundPreflight(projectId);
  if (pre.refusal) throw new DomainError("conflict", pre.refusal);
  return requestAndEnqueue({ projectId, trigger: "manual", requestedById });
}
