// Before a round: what it will do with the project as it is now, and why pairs are missing (e.g.
// 13 judgments by one annotator with overlap 2 make no pair: every comparison waits for a second
// annotator). Read-only, no trainer import: the admin page calls it through tRPC
// (training.preview) and shows `steps` and `missing` as they are.
import { db } from "@/server/db/client";
import { DomainError } from "@/server/errors";
import { trainingSettingsOf } from "./settings";
import { newPairsSinceLastRound } from "./triggers";

export interface RoundPreview {
  /** The project has no policy yet: the round first trains the SFT bootstrap. */
  bootstrap: boolean;
  /** The reward and policy stages will train (enough train pairs, or a method that needs none). */
  willTrain: boolean;
  pairs: {
    /** Active preference pairs now. */
    active: number;
    /** About how many of them the round trains on (the rest are held out for validation). */
    train: number;
    /** Fewer train pairs than this: the reward and policy stages are skipped. */
    minTrainPairs: number;
  };
  overlap: number;
  comparisons: {
    total: number;
    notJudged: number;
    /** Judged, but by fewer annotators than the overlap. */
    waiting: number;
    complete: number;
    review: number;
    flagged: number;
    adjudicated: number;
    /** Complete or adjudicated, yet with no pair (ties, both bad). */
    noPair: number;
  };
  judgments: { human: number; ai: number; imported: number; annotators: number };
  /** What the round will do, in order, one sentence each. */
  steps: string[];
  /** Why there are not more pairs, one sentence each (empty when nothing holds pairs back). */
  missing: string[];
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export async function roundPreview(projectIdOrSlug: string): Promise<RoundPreview> {
  const p = await db().project.findFirst({
    where: { OR: [{ id: projectIdOrSlug }, { slug: projectIdOrSlug }] },
    select: { id: true, overlap: true, aiCountsTowardConsensus: true, settings: true },
  });
  if (!p) throw new DomainError("not_found", `No project ${projectIdOrSlug}.`);
  const s = trainingSettingsOf(p.settings);
  const [counts] = await db().$queryRaw<
    Array<{
      total: number;
      not_judged: number;
      waiting: number;
      complete: number;
      review: number;
      flagged: number;
      adjudicated: number;
      no_pair: number;
    }>
  >`
    SELECT count(*)::int AS total,
           count(*) FILTER (WHERE c.status = 'open' AND c."judgmentCount" = 0)::int AS not_judged,
           count(*) FILTER (WHERE c.status = 'open' AND c."judgmentCount" > 0)::int AS waiting,
           count(*) FILTER (WHERE c.status = 'complete')::int AS complete,
           count(*) FILTER (WHERE c.status = 'review')::int AS review,
           count(*) FILTER (WHERE c.status = 'flagged')::int AS flagged,
           count(*) FILTER (WHERE c.status = 'adjudicated')::int AS adjudicated,
           count(*) FILTER (WHERE c.status IN ('complete', 'adjudicated') AND NOT EXISTS (
             SELECT 1 FROM "PreferencePair" pp WHERE pp."comparisonId" = c.id AND pp.active))::int AS no_pair
    FROM "Comparison" c WHERE c."projectId" = ${p.id} AND NOT c."isGold"`;
  const [j] = await db().$queryRaw<
    Array<{ human: number; ai: number; imported: number; annotators: number }>
  >`
    SELECT count(*) FILTER (WHERE source = 'human')::int AS human,
           count(*) FILTER (WHERE source = 'ai')::int AS ai,
           count(*) FILTER (WHERE source = 'import')::int AS imported,
           count(DISTINCT "userId") FILTER (WHERE source = 'human')::int AS annotators
    FROM "Judgment" WHERE "projectId" = ${p.id} AND "supersededAt" IS NULL`;
  const active = await db().preferencePair.count({ where: { projectId: p.id, active: true } });
  const usable = s.policy.pairs === "new" ? await newPairsSinceLastRound(p.id) : active;
  const train = Math.floor(usable * (1 - s.snapshot.validationFraction));
  const hasPolicy =
    (await db().checkpoint.count({
      where: { projectId: p.id, kind: { in: ["policy", "sft"] }, promoted: true },
    })) > 0;
  const needsPairs = s.policy.method !== "grpo";
  const enough = train >= s.snapshot.minTrainPairs;
  const c = counts!;
  const judgments = j!;

  const steps: string[] = [];
  if (!hasPolicy) steps.push("Train the SFT bootstrap: the project has no policy yet.");
  steps.push(`Freeze a snapshot of the ${plural(active, "active pair")}.`);
  const few = `only about ${plural(train, "train pair")} (at least ${s.snapshot.minTrainPairs} needed)`;
  if (enough) steps.push(`Train the reward model on about ${plural(train, "train pair")}.`);
  else steps.push(`Skip the reward model: ${few}.`);
  if (!needsPairs)
    steps.push(`Train the policy with ${s.policy.method} on its environments (no pairs needed).`);
  else if (enough)
    steps.push(`Train the policy with ${s.policy.method} on about ${plural(train, "train pair")}.`);
  else steps.push(`Skip the policy: ${few}.`);
  steps.push("Evaluate on the held-out prompts, and ask the project's policy for new comparisons to label.");

  const missing: string[] = [];
  const overlap = Math.max(1, p.overlap);
  if (c.waiting) {
    const who =
      judgments.annotators < overlap
        ? ` Only ${plural(judgments.annotators, "annotator has", "annotators have")} judged, and each comparison needs ${overlap} different ones: ask more annotators, or lower the project's overlap.`
        : "";
    missing.push(
      `${plural(c.waiting, "comparison has", "comparisons have")} fewer judgments than the overlap (${overlap}): a comparison gives pairs once ${overlap} annotators judged it.${who}`,
    );
  }
  if (c.not_judged)
    missing.push(`${plural(c.not_judged, "comparison is", "comparisons are")} not judged yet.`);
  if (c.review)
    missing.push(
      `${plural(c.review, "comparison is", "comparisons are")} in review (the judgments disagree): a reviewer decides them.`,
    );
  if (c.flagged)
    missing.push(
      `${plural(c.flagged, "comparison is", "comparisons are")} flagged: a reviewer rules on them.`,
    );
  if (c.no_pair)
    missing.push(
      `${plural(c.no_pair, "decided comparison gives", "decided comparisons give")} no pair (a tie, or both bad).`,
    );
  if (judgments.ai && !p.aiCountsTowardConsensus)
    missing.push(
      `${plural(judgments.ai, "AI judgment does", "AI judgments do")} not count toward consensus (the project's setting).`,
    );
  if (s.policy.pairs === "new" && usable < active)
    missing.push(
      `The policy trains only on pairs new since the last round (${usable} of ${active}): policy.pairs is "new".`,
    );
  return {
    bootstrap: !hasPolicy,
    willTrain: !needsPairs || enough,
    pairs: { active, train, minTrainPairs: s.snapshot.minTrainPairs },
    overlap,
    comparisons: {
      total: c.total,
      notJudged: c.not_judged,
      waiting: c.waiting,
      complete: c.complete,
      review: c.review,
      flagged: c.flagged,
      adjudicated: c.adjudicated,
      noPair: c.no_pair,
    },
    judgments,
    steps,
    missing,
  };
}
