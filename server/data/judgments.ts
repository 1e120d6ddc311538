// Recording judgments and turning them into preference pairs.
//
// recordJudgment is the one write path for every verdict (the annotation UI's human submits, AI
// judges, reviewers' adjudications, the REST API). It is idempotent by `idempotencyKey`: a retried
// or concurrent call with the same key returns the row already written ({ created: false }) and
// never writes a second one. Corrections are new judgments (`supersedesId`); the old row only gets
// `supersededAt`. In the same transaction the comparison is re-aggregated (server/data/aggregate.ts):
// its counters, status and agreement are updated, and when its pairs change the old PreferencePair
// rows are retired (active = false, retiredAt) and new ones inserted, so frozen snapshots that
// point at the old rows stay exact.
//
// Locking: the Comparison row is taken FOR UPDATE before anything is read or written, so two
// judgments of one comparison aggregate one after the other. Callers already inside a transaction
// (the annotation submit) pass their transaction client and the work joins it.
// No "server-only" import: the worker, the trainer and the CLI (plain Node processes) call this too.
import { Prisma, type Judgment, type JudgmentSource, type ComparisonStatus, type PrismaClient } from "@prisma/client";
import { DomainError } from "@/server/errors";
import { parseProjectSettings, type LabelSchema } from "@/server/projects/schema";
import { aggregate, matchesGold, type AggregatedPair, type AggregationSettings, type JudgmentVote } from "./aggregate";
import { newId } from "./ids";
import { Verdict, type JudgmentOrigin } from "./verdict";

export type Tx = Prisma.TransactionClient;
type DbOrTx = PrismaClient | Tx;

export interface RecordJudgmentInput {
  /** Client-chosen, unique per submission: a retry with the same key returns the first result. */
  idempotencyKey: string;
  comparisonId: string;
  origin: JudgmentOrigin;
  /** In completion ids (display-independent); see verdict.ts. */
  verdict: Verdict;
  /** Correct an earlier judgment of the same comparison: it is marked superseded, not edited. */
  supersedesId?: string;
  assignmentId?: string;
  displayOrder?: string[];
  timeSpentMs?: number;
  confidence?: number;
  rationale?: string;
  ratings?: Record<string, Record<string, number>>;
  flag?: "unsafe" | "private" | "broken";
  flagReason?: string;
  /** Defaults to the comparison's isGold; goldCorrect is worked out from its goldAnswer when not given. */
  isGoldCheck?: boolean;
  goldCorrect?: boolean;
  metadata?: Record<string, unknown>;
  now?: Date;
}

export interface ComparisonState {
  id: string;
  status: ComparisonStatus;
  judgmentCount: number;
  agreement: number | null;
  completedAt: Date | null;
}

export interface RecomputeResult extends ComparisonState {
  pairsAdded: number;
  pairsRetired: number;
}

export interface RecordJudgmentResult {
  judgment: Judgment;
  /** false when the idempotency key had been used already: nothing was written. */
  created: boolean;
  comparison: ComparisonState;
}

const SOURCE: Record<JudgmentOrigin["kind"], JudgmentSource> = { human: "human", ai: "ai", import: "import", adjudication: "adjudication" };

function isClient(db: DbOrTx): db is PrismaClient {
  return typeof (db as PrismaClient).$transaction === "function";
}

async function inTransaction<T>(db: DbOrTx, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return isClient(db) ? db.$transaction(fn, { timeout: 30_000, maxWait: 30_000 }) : fn(db);
}

/** Check a verdict against the comparison it judges; throws bad_request naming the problem. */
export function checkVerdict(verdict: Verdict, completionIds: readonly string[]): void {
  const known = new Set(completionIds);
  const unknown = (id: string) => {
    if (!known.has(id)) throw new DomainError("bad_request", `The verdict names completion ${id}, which is not part of this comparison (${completionIds.join(", ")}).`);
  };
  if (verdict.kind === "pairwise") {
    if (verdict.outcome !== "win") return;
    unknown(verdict.winnerId);
    unknown(verdict.loserId);
    if (verdict.winnerId === verdict.loserId) throw new DomainError("bad_request", "The winner and the loser are the same completion.");
    return;
  }
  const seen = new Set<string>();
  for (const id of verdict.ranking.flat()) {
    unknown(id);
    if (seen.has(id)) throw new DomainError("bad_request", `The ranking lists completion ${id} twice.`);
    seen.add(id);
  }
  if (seen.size < 2) throw new DomainError("bad_request", "A ranking must rank at least two completions.");
}

/**
 * Check a verdict against what the project asks (label schema): ties, both-bad, strength, ranking
 * ties and partial rankings. The annotation UI checks its answers the same way; the REST API
 * calls this for judgments sent by scripts.
 */
export function checkVerdictAgainstSchema(verdict: Verdict, schema: LabelSchema, completionIds: readonly string[]): void {
  if (schema.kind === "pairwise") {
    if (verdict.kind === "ranking") {
      if (completionIds.length !== 2 || verdict.ranking.length !== 2) throw new DomainError("bad_request", "This project compares pairs: send a pairwise verdict (win, tie or both_bad).");
      return;
    }
    if (verdict.outcome === "tie" && !schema.allowTie) throw new DomainError("bad_request", "This project does not allow ties.");
    if (verdict.outcome === "both_bad" && !schema.allowBothBad) throw new DomainError("bad_request", 'This project does not allow "both bad".');
    if (verdict.outcome === "win" && verdict.strength === 2 && !schema.strength) throw new DomainError("bad_request", "This project does not ask for strength: send strength 1.");
    return;
  }
  if (verdict.kind === "pairwise") {
    if (completionIds.length !== 2) throw new DomainError("bad_request", `This project ranks ${completionIds.length} completions: send a ranking verdict.`);
    return;
  }
  if (!schema.allowTies && verdict.ranking.some((g) => g.length > 1)) throw new DomainError("bad_request", "This project does not allow ties in a ranking: one completion per group.");
  if (!schema.allowPartial && verdict.ranking.flat().length !== completionIds.length) throw new DomainError("bad_request", "This project asks for a full ranking: rank every completion.");
}

async function comparisonState(tx: DbOrTx, id: string): Promise<ComparisonState> {
  return tx.comparison.findUniqueOrThrow({ where: { id }, select: { id: true, status: true, judgmentCount: true, agreement: true, completedAt: true } });
}

async function existingByKey(db: DbOrTx, input: RecordJudgmentInput): Promise<Judgment | null> {
  const j = await db.judgment.findUnique({ where: { idempotencyKey: input.idempotencyKey } });
  if (j && j.comparisonId !== input.comparisonId) {
    throw new DomainError("conflict", `The idempotency key "${input.idempotencyKey}" was already used for another comparison; generate a new key per submission.`);
  }
  return j;
}

/** Record one judgment (idempotent) and re-aggregate its comparison, in one transaction. */
export async function recordJudgment(db: DbOrTx, input: RecordJudgmentInput): Promise<RecordJudgmentResult> {
  const parsed = Verdict.safeParse(input.verdict);
  if (!parsed.success) throw new DomainError("bad_request", `Invalid verdict: ${parsed.error.issues.map((i) => `${i.path.join(".") || "verdict"}: ${i.message}`).join("; ")}.`);
  const verdict = parsed.data;
  if (!input.idempotencyKey || input.idempotencyKey.length > 200) throw new DomainError("bad_request", "idempotencyKey must be 1 to 200 characters.");

  // A retry: answer from the row already written, without taking a lock.
  const prior = await existingByKey(db, input);
  if (prior) return { judgment: prior, created: false, comparison: await comparisonState(db, prior.comparisonId) };

  try {
    return await inTransaction(db, async (tx) => {
      const rows = await tx.$queryRaw<Array<{ id: string; projectId: string; completionIds: string[]; isGold: boolean; goldAnswer: unknown }>>`
        SELECT id, "projectId", "completionIds", "isGold", "goldAnswer" FROM "Comparison" WHERE id = ${input.comparisonId} FOR UPDATE`;
      const c = rows[0];
      if (!c) throw new DomainError("not_found", `No comparison ${input.comparisonId}.`);
      // Under the lock: a concurrent call with the same key has committed by now.
      const raced = await existingByKey(tx, input);
      if (raced) return { judgment: raced, created: false, comparison: await comparisonState(tx, c.id) };

      checkVerdict(verdict, c.completionIds);
      if (input.displayOrder?.some((id) => !c.completionIds.includes(id))) throw new DomainError("bad_request", "displayOrder names completions that are not part of this comparison.");
      const now = input.now ?? new Date();
      const origin = input.origin;
      const isGoldCheck = input.isGoldCheck ?? c.isGold;
      let goldCorrect = input.goldCorrect;
      if (goldCorrect === undefined && isGoldCheck && c.goldAnswer) {
        const gold = Verdict.safeParse(c.goldAnswer);
        if (gold.success) goldCorrect = matchesGold(verdict, gold.data, c.completionIds);
      }

      if (input.supersedesId) {
        const old = await tx.judgment.findUnique({ where: { id: input.supersedesId }, select: { comparisonId: true, supersededAt: true } });
        if (!old || old.comparisonId !== c.id) throw new DomainError("bad_request", `Judgment ${input.supersedesId} is not a judgment of comparison ${c.id}.`);
        if (old.supersededAt) throw new DomainError("conflict", `Judgment ${input.supersedesId} has already been corrected; correct the newest judgment instead.`);
        await tx.judgment.update({ where: { id: input.supersedesId }, data: { supersededAt: now } });
      }

      const id = newId();
      const inserted = await tx.judgment.createMany({
        data: [
          {
            id,
            idempotencyKey: input.idempotencyKey,
            projectId: c.projectId,
            comparisonId: c.id,
            source: SOURCE[origin.kind],
            userId: origin.kind === "human" || origin.kind === "adjudication" ? origin.userId : null,
            judgeConfigId: origin.kind === "ai" ? origin.judgeConfigId : null,
            judgeRunId: origin.kind === "ai" ? (origin.judgeRunId ?? null) : null,
            assignmentId: input.assignmentId ?? null,
            verdict: verdict as Prisma.InputJsonValue,
            rationale: input.rationale ?? null,
            ratings: input.ratings === undefined ? Prisma.DbNull : (input.ratings as Prisma.InputJsonValue),
            flag: input.flag ?? null,
            flagReason: input.flagReason ?? null,
            displayOrder: input.displayOrder ?? [],
            timeSpentMs: input.timeSpentMs ?? null,
            confidence: input.confidence ?? null,
            isGoldCheck,
            goldCorrect: goldCorrect ?? null,
            supersedesId: input.supersedesId ?? null,
            metadata: (input.metadata ?? {}) as Prisma.InputJsonValue,
            createdAt: now,
          },
        ],
        skipDuplicates: true, // ON CONFLICT DO NOTHING: the key was taken meanwhile (another comparison)
      });
      if (inserted.count === 0) {
        // Not a retry of this comparison (that would have been found under the lock above), so
        // throwing rolls back everything this call did.
        await existingByKey(tx, input);
        throw new DomainError("conflict", "This judgment could not be recorded: its key or the judgment it corrects was taken meanwhile; try again.");
      }

      await recomputeComparison(tx, c.id, { now });
      const judgment = await tx.judgment.findUniqueOrThrow({ where: { id } });
      return { judgment, created: true, comparison: await comparisonState(tx, c.id) };
    });
  } catch (e) {
    // Two transactions inserting the same new key: the loser's unique violation means "done".
    if (e instanceof Prisma.PrismaClientKnownRequestError && e.code === "P2002") {
      const j = await existingByKey(db, input);
      if (j) return { judgment: j, created: false, comparison: await comparisonState(db, j.comparisonId) };
    }
    throw e;
  }
}

export async function aggregationSettings(tx: Tx, projectId: string): Promise<AggregationSettings> {
  const p = await tx.project.findUnique({ where: { id: projectId }, select: { overlap: true, consensusRule: true, aiCountsTowardConsensus: true, settings: true } });
  if (!p) throw new DomainError("not_found", `No project ${projectId}.`);
  const settings = parseProjectSettings(p.settings);
  return {
    overlap: p.overlap,
    consensusRule: p.consensusRule === "weighted" ? "weighted" : "majority",
    aiCountsTowardConsensus: p.aiCountsTowardConsensus,
    reviewAgreementBelow: settings.reviewAgreementBelow,
    weightByStrength: settings.weightByStrength,
  };
}

/** Gold accuracy per voter, Laplace-smoothed: (correct + 1) / (gold checks + 2). */
async function voterWeights(tx: Tx, projectId: string, userIds: string[], judgeIds: string[]): Promise<Map<string, number>> {
  const weights = new Map<string, number>();
  if (userIds.length) {
    const rows = await tx.$queryRaw<Array<{ k: string; ok: number; n: number }>>`
      SELECT "userId" AS k, count(*) FILTER (WHERE "goldCorrect")::int AS ok, count(*)::int AS n FROM "Judgment"
      WHERE "projectId" = ${projectId} AND "isGoldCheck" AND "supersededAt" IS NULL AND "userId" = ANY(${userIds}) GROUP BY "userId"`;
    for (const r of rows) weights.set(`u:${r.k}`, (r.ok + 1) / (r.n + 2));
  }
  if (judgeIds.length) {
    const rows = await tx.$queryRaw<Array<{ k: string; ok: number; n: number }>>`
      SELECT "judgeConfigId" AS k, count(*) FILTER (WHERE "goldCorrect")::int AS ok, count(*)::int AS n FROM "Judgment"
      WHERE "projectId" = ${projectId} AND "isGoldCheck" AND "supersededAt" IS NULL AND "judgeConfigId" = ANY(${judgeIds}) GROUP BY "judgeConfigId"`;
    for (const r of rows) weights.set(`j:${r.k}`, (r.ok + 1) / (r.n + 2));
  }
  return weights;
}

const samePairs = (a: AggregatedPair[], b: AggregatedPair[]) => {
  const key = (p: AggregatedPair) => JSON.stringify([p.chosenId, p.rejectedId, p.margin, p.weight, p.agreement, [...p.judgmentIds].sort(), p.origin]);
  const ka = a.map(key).sort();
  const kb = b.map(key).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i]);
};

/**
 * Re-aggregate one comparison from its active (not superseded) judgments. Call inside a
 * transaction that holds the Comparison row (recordJudgment does). Pairs are only replaced when
 * they change, so an unchanged outcome leaves snapshots and export order alone.
 */
export async function recomputeComparison(tx: Tx, comparisonId: string, opts: { now?: Date } = {}): Promise<RecomputeResult> {
  const now = opts.now ?? new Date();
  const c = await tx.comparison.findUnique({
    where: { id: comparisonId },
    select: { id: true, projectId: true, promptId: true, completionIds: true, isGold: true, status: true, completedAt: true },
  });
  if (!c) throw new DomainError("not_found", `No comparison ${comparisonId}.`);
  const settings = await aggregationSettings(tx, c.projectId);
  const rows = await tx.judgment.findMany({
    where: { comparisonId, supersededAt: null },
    select: { id: true, source: true, verdict: true, createdAt: true, flag: true, userId: true, judgeConfigId: true },
    orderBy: [{ createdAt: "asc" }, { id: "asc" }],
  });
  const weights =
    settings.consensusRule === "weighted"
      ? await voterWeights(
          tx,
          c.projectId,
          [...new Set(rows.flatMap((r) => (r.userId ? [r.userId] : [])))],
          [...new Set(rows.flatMap((r) => (r.judgeConfigId ? [r.judgeConfigId] : [])))],
        )
      : new Map<string, number>();
  const votes: JudgmentVote[] = [];
  for (const r of rows) {
    const v = Verdict.safeParse(r.verdict);
    if (!v.success) continue; // written by hand outside recordJudgment: not a vote
    const voter = r.userId ? `u:${r.userId}` : r.judgeConfigId ? `j:${r.judgeConfigId}` : "";
    votes.push({ id: r.id, source: r.source, verdict: v.data, createdAt: r.createdAt, flag: r.flag, voterWeight: weights.get(voter) ?? 0.5 });
  }

  let result = aggregate(c.completionIds, votes, settings);
  // Gold items check annotators; they are not data and stay servable.
  if (c.isGold) result = { ...result, status: c.status === "flagged" ? "flagged" : "open", pairs: [] };
  // A flag raised outside a judgment (the annotator's "flag" skip) holds until a reviewer rules.
  else if (c.status === "flagged" && result.decidedBy !== "adjudication") result = { ...result, status: "flagged", pairs: [] };

  const current = await tx.preferencePair.findMany({
    where: { comparisonId, active: true },
    select: { chosenId: true, rejectedId: true, margin: true, weight: true, agreement: true, judgmentIds: true, origin: true },
  });
  let pairsAdded = 0;
  let pairsRetired = 0;
  if (!samePairs(current as AggregatedPair[], result.pairs)) {
    pairsRetired = (await tx.preferencePair.updateMany({ where: { comparisonId, active: true }, data: { active: false, retiredAt: now } })).count;
    if (result.pairs.length) {
      pairsAdded = (
        await tx.preferencePair.createMany({
          data: result.pairs.map((p) => ({ id: newId(), projectId: c.projectId, comparisonId, promptId: c.promptId, ...p, createdAt: now })),
        })
      ).count;
    }
  }
  const done = result.status === "complete" || result.status === "adjudicated";
  const updated = await tx.comparison.update({
    where: { id: comparisonId },
    data: { judgmentCount: result.judgmentCount, status: result.status, agreement: result.agreement, completedAt: done ? (c.completedAt ?? now) : null },
    select: { id: true, status: true, judgmentCount: true, agreement: true, completedAt: true },
  });
  return { ...updated, pairsAdded, pairsRetired };
}
