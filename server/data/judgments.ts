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
// (the annotation submit, reviews) pass it and the work joins it. The statements are plain SQL
// run by either executor of server/db/sql.ts: a Prisma client/transaction, or node-postgres (the
// web process's annotation endpoints): two round trips per judgment inside the transaction.
// No "server-only" import: the worker, the trainer and the CLI (plain Node processes) call this too.
import type { Judgment, JudgmentSource, ComparisonStatus, Prisma } from "@prisma/client";
import { isUniqueViolation, toSql, type Sql, type SqlSource } from "@/server/db/sql";
import { DomainError } from "@/server/errors";
import { parseProjectSettings, type LabelSchema } from "@/server/projects/schema";
import {
  aggregate,
  matchesGold,
  type AggregatedPair,
  type AggregationSettings,
  type JudgmentVote,
} from "./aggregate";
import { newId } from "./ids";
import {
  COMPLETIONS_JSON,
  completionsMap,
  contribution,
  difference,
  type RollJudgment,
} from "@/server/annotation/rollups";
import { Verdict, type JudgmentOrigin } from "./verdict";

export type Tx = Prisma.TransactionClient;

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

const SOURCE: Record<JudgmentOrigin["kind"], JudgmentSource> = {
  human: "human",
  ai: "ai",
  import: "import",
  adjudication: "adjudication",
};

/** Check a verdict against the comparison it judges; throws bad_request naming the problem. */
export function checkVerdict(verdict: Verdict, completionIds: readonly string[]): void {
  const known = new Set(completionIds);
  const unknown = (id: string) => {
    if (!known.has(id))
      throw new DomainError(
        "bad_request",
        `The verdict names completion ${id}, which is not part of this comparison (${completionIds.join(", ")}).`,
      );
  };
  if (verdict.kind === "pairwise") {
    if (verdict.outcome !== "win") return;
    unknown(verdict.winnerId);
    unknown(verdict.loserId);
    if (verdict.winnerId === verdict.loserId)
      throw new DomainError("bad_request", "The winner and the loser are the same completion.");
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
export function checkVerdictAgainstSchema(
  verdict: Verdict,
  schema: LabelSchema,
  completionIds: readonly string[],
): void {
  if (schema.kind === "pairwise") {
    if (verdict.kind === "ranking") {
      if (completionIds.length !== 2 || verdict.ranking.length !== 2)
        throw new DomainError(
          "bad_request",
          "This project compares pairs: send a pairwise verdict (win, tie or both_bad).",
        );
      return;
    }
    if (verdict.outcome === "tie" && !schema.allowTie)
      throw new DomainError("bad_request", "This project does not allow ties.");
    if (verdict.outcome === "both_bad" && !schema.allowBothBad)
      throw new DomainError("bad_request", 'This project does not allow "both bad".');
    if (verdict.outcome === "win" && verdict.strength === 2 && !schema.strength)
      throw new DomainError("bad_request", "This project does not ask for strength: send strength 1.");
    return;
  }
  if (verdict.kind === "pairwise") {
    if (completionIds.length !== 2)
      throw new DomainError(
        "bad_request",
        `This project ranks ${completionIds.length} completions: send a ranking verdict.`,
      );
    return;
  }
  if (!schema.allowTies && verdict.ranking.some((g) => g.length > 1))
    throw new DomainError(
      "bad_request",
      "This project does not allow ties in a ranking: one completion per group.",
    );
  if (!schema.allowPartial && verdict.ranking.flat().length !== completionIds.length)
    throw new DomainError("bad_request", "This project asks for a full ranking: rank every completion.");
}

/** A comparison locked for re-aggregation, with everything aggregation reads, from one query. */
interface Locked {
  id: string;
  projectId: string;
  promptId: string;
  completionIds: string[];
  isGold: boolean;
  goldAnswer: unknown;
  status: ComparisonStatus;
  completedAt: Date | null;
  overlap: number;
  consensusRule: string;
  aiCountsTowardConsensus: boolean;
  settings: unknown;
  judgments: Array<{
    id: string;
    source: JudgmentSource;
    verdict: unknown;
    createdAt: string;
    flag: string | null;
    userId: string | null;
    judgeConfigId: string | null;
    displayOrder: string[] | null;
    timeSpentMs: number | null;
    isGoldCheck: boolean;
    goldCorrect: boolean | null;
  }> | null;
  pairs: AggregatedPair[] | null;
  keyed: { id: string; comparisonId: string } | null;
  /** Dashboard rollups (server/annotation/rollups.ts): whether they count this comparison's rolledIds. */
  rolledUp: boolean;
  rolledIds: string[];
  completions: Array<{ id: string; len: number; source: string }> | null;
}

// Read after the lock is held, in a statement of its own: a statement's snapshot is taken when it
// starts, so subqueries of the locking statement itself would miss judgments committed by the
// transaction it waited for.
const LOAD_COMPARISON = `
  SELECT c.id, c."projectId", c."promptId", c."completionIds", c."isGold", c."goldAnswer", c.status::text AS status, c."completedAt",
    c."rolledUp", c."rolledIds", ${COMPLETIONS_JSON("c")} AS completions,
    p.overlap, p."consensusRule"::text AS "consensusRule", p."aiCountsTowardConsensus", p.settings,
    (SELECT json_agg(json_build_object('id', j.id, 'source', j.source, 'verdict', j.verdict, 'createdAt', j."createdAt", 'flag', j.flag, 'userId', j."userId", 'judgeConfigId', j."judgeConfigId",
       'displayOrder', j."displayOrder", 'timeSpentMs', j."timeSpentMs", 'isGoldCheck', j."isGoldCheck", 'goldCorrect', j."goldCorrect") ORDER BY j."createdAt", j.id)
       FROM "Judgment" j WHERE j."comparisonId" = c.id AND j."supersededAt" IS NULL) AS judgments,
    (SELECT json_agg(json_build_object('chosenId', x."chosenId", 'rejectedId', x."rejectedId", 'margin', x.margin, 'weight', x.weight, 'agreement', x.agreement, 'judgmentIds', x."judgmentIds", 'origin', x.origin))
       FROM "PreferencePair" x WHERE x."comparisonId" = c.id AND x.active) AS pairs,
    (SELECT json_build_object('id', k.id, 'comparisonId', k."comparisonId") FROM "Judgment" k WHERE k."idempotencyKey" = $2::text) AS keyed
  FROM "Comparison" c JOIN "Project" p ON p.id = c."projectId"
  WHERE c.id = $1::text`;

/** Locks the comparison (unless the caller already holds its lock), then loads it. */
async function lockComparison(
  tx: Sql,
  comparisonId: string,
  idempotencyKey = "",
  alreadyLocked = false,
): Promise<Locked | null> {
  if (!alreadyLocked) {
    const locked = await tx.query<{ id: string }>(
      `SELECT id FROM "Comparison" WHERE id = $1::text FOR UPDATE`,
      [comparisonId],
    );
    if (!locked[0]) return null;
  }
  const rows = await tx.query<Locked>(LOAD_COMPARISON, [comparisonId, idempotencyKey]);
  return rows[0] ?? null;
}

/** json timestamps (timestamp(3) without zone, stored in UTC) back to Dates. */
const utc = (s: string | Date): Date =>
  s instanceof Date ? s : new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : s + "Z");

function settingsOf(c: Locked): AggregationSettings {
  const s = parseProjectSettings(c.settings);
  return {
    overlap: c.overlap,
    consensusRule: c.consensusRule === "weighted" ? "weighted" : "majority",
    aiCountsTowardConsensus: c.aiCountsTowardConsensus,
    reviewAgreementBelow: s.reviewAgreementBelow,
    weightByStrength: s.weightByStrength,
  };
}

/** Gold accuracy per voter, Laplace-smoothed: (correct + 1) / (gold checks + 2). */
async function voterWeights(
  tx: Sql,
  projectId: string,
  userIds: string[],
  judgeIds: string[],
): Promise<Map<string, number>> {
  const weights = new Map<string, number>();
  if (!userIds.length && !judgeIds.length) return weights;
  // Per-voter counters of standing gold checks, kept by a trigger on Judgment (migration
  // 20261204170000): a few rows read, however many judgments the voters have.
  const rows = await tx.query<{ k: string; ok: number; n: number }>(
    `SELECT voter AS k, correct AS ok, checks AS n FROM "VoterGold" WHERE "projectId" = $1::text AND voter = ANY($2::text[])`,
    [projectId, [...userIds.map((u) => `u:${u}`), ...judgeIds.map((j) => `j:${j}`)]],
  );
  for (const r of rows) weights.set(r.k, (r.ok + 1) / (r.n + 2));
  return weights;
}

const samePairs = (a: AggregatedPair[], b: AggregatedPair[]) => {
  const key = (p: AggregatedPair) =>
    JSON.stringify([
      p.chosenId,
      p.rejectedId,
      p.margin,
      p.weight,
      p.agreement,
      [...p.judgmentIds].sort(),
      p.origin,
    ]);
  const ka = a.map(key).sort();
  const kb = b.map(key).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i]);
};

interface VoteRow {
  id: string;
  source: JudgmentSource;
  verdict: unknown;
  createdAt: Date;
  flag: string | null;
  userId: string | null;
  judgeConfigId: string | null;
}

interface Plan {
  state: ComparisonState;
  pairs: AggregatedPair[] | null; // null: the active pairs stay as they are
  pairsRetired: number;
}

/** Aggregates the comparison's active judgments (pure apart from the weights lookup) into its next state. */
async function plan(tx: Sql, c: Locked, rows: VoteRow[], now: Date): Promise<Plan> {
  const settings = settingsOf(c);
  rows.sort(
    (x, y) => x.createdAt.getTime() - y.createdAt.getTime() || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0),
  );
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
    votes.push({
      id: r.id,
      source: r.source,
      verdict: v.data,
      createdAt: r.createdAt,
      flag: r.flag,
      voterWeight: weights.get(voter) ?? 0.5,
    });
  }
  let result = aggregate(c.completionIds, votes, settings);
  // Gold items check annotators; they are not data and stay servable.
  if (c.isGold) result = { ...result, status: c.status === "flagged" ? "flagged" : "open", pairs: [] };
  // A flag raised outside a judgment (the annotator's "flag" skip) holds until a reviewer rules.
  else if (c.status === "flagged" && result.decidedBy !== "adjudication")
    result = { ...result, status: "flagged", pairs: [] };
  const current = c.pairs ?? [];
  const changed = !samePairs(current, result.pairs);
  const done = result.status === "complete" || result.status === "adjudicated";
  return {
    state: {
      id: c.id,
      status: result.status,
      judgmentCount: result.judgmentCount,
      agreement: result.agreement,
      completedAt: done ? (c.completedAt ? utc(c.completedAt) : now) : null,
    },
    pairs: changed ? result.pairs : null,
    pairsRetired: changed ? current.length : 0,
  };
}

/**
 * The writes of a re-aggregation as CTEs, parameters from `base` on: retire and insert pairs
 * (when they changed) and update the comparison's counters, status and agreement.
 */
function aggregationWrites(
  c: Locked,
  p: Plan,
  now: Date,
  base: number,
  endAssignment: string | null = null,
  roll: Roll | null = null,
): { ctes: string; params: unknown[] } {
  const params: unknown[] = [
    c.id,
    p.state.status,
    p.state.judgmentCount,
    p.state.agreement,
    p.state.completedAt,
  ];
  const $ = (i: number) => `$${base + i + 1}`;
  // The annotation submit: its lease ends in the same statement, and its slot becomes the judgment.
  const release = endAssignment ? `, "leaseCount" = GREATEST("leaseCount" - 1, 0)` : "";
  const rollAt = params.length;
  if (roll) params.push(roll.ids);
  if (roll?.delta.size) params.push(c.projectId, [...roll.delta.keys()], [...roll.delta.values()]);
  const rolled = roll ? `, "rolledIds" = ${$(rollAt)}::text[]` : "";
  let ctes = `upd AS (
      UPDATE "Comparison" SET "judgmentCount" = ${$(2)}::int, status = ${$(1)}::text::"ComparisonStatus", agreement = ${$(3)}::float8, "completedAt" = ${$(4)}::timestamp(3)${release}${rolled}
      WHERE id = ${$(0)}::text RETURNING id)`;
  const nowAt = params.length;
  if (endAssignment || p.pairs) params.push(now);
  if (endAssignment) {
    params.push(endAssignment);
    ctes += `, ended AS (UPDATE "Assignment" a SET status = 'submitted', "endedAt" = ${$(nowAt)}::timestamp(3) WHERE a.id = ${$(nowAt + 1)}::text RETURNING a.id)`;
  }
  if (roll) {
    // The dashboard rollups follow the comparison's judgments (server/annotation/rollups.ts):
    // the difference of its contribution is appended, and "rolledIds" set in `upd` above.
    if (roll.delta.size)
      ctes += `, stat AS (INSERT INTO "StatDelta" ("projectId", "key", "n") SELECT ${$(rollAt + 1)}::text, k, n FROM unnest(${$(rollAt + 2)}::text[], ${$(rollAt + 3)}::bigint[]) AS x(k, n) RETURNING 1)`;
  }
  if (p.pairs) {
    const rows = p.pairs.map((x) => ({
      id: newId(),
      chosenId: x.chosenId,
      rejectedId: x.rejectedId,
      margin: x.margin,
      weight: x.weight,
      agreement: x.agreement,
      judgmentIds: x.judgmentIds.join(","),
      origin: x.origin,
    }));
    const at = params.length; // pairs' parameters follow
    params.push(JSON.stringify(rows), c.projectId, c.promptId);
    ctes += `, retired AS (
      UPDATE "PreferencePair" x SET active = false, "retiredAt" = ${$(nowAt)}::timestamp(3) WHERE x."comparisonId" = ${$(0)}::text AND x.active RETURNING x.id
    ), added AS (
      INSERT INTO "PreferencePair" (id, "projectId", "comparisonId", "promptId", "chosenId", "rejectedId", margin, weight, agreement, "judgmentIds", origin, active, "createdAt")
      SELECT x.id, ${$(at + 1)}::text, ${$(0)}::text, ${$(at + 2)}::text, x."chosenId", x."rejectedId", x.margin, x.weight, x.agreement, string_to_array(x."judgmentIds", ','), x.origin, true, ${$(nowAt)}::timestamp(3)
      FROM jsonb_to_recordset(${$(at)}::jsonb) AS x(id text, "chosenId" text, "rejectedId" text, margin float8, weight float8, agreement float8, "judgmentIds" text, origin text)
      RETURNING id)`;
  }
  return { ctes, params };
}

/** The dashboard rollups' update for a new judgment (null when this comparison's rollup is stale). */
interface Roll {
  ids: string[];
  delta: Map<string, number>;
}

function rollFor(c: Locked, added: RollJudgment, supersededId: string | undefined): Roll | null {
  if (!c.rolledUp) return null; // counted later by bringUpToDate
  const standing: RollJudgment[] = (c.judgments ?? []).map((j) => ({
    ...j,
    createdAt: utc(j.createdAt),
  }));
  const counted = new Set(c.rolledIds);
  // The counted contribution came from exactly the standing judgments (the usual case); else
  // leave it to bringUpToDate, which recomputes from the judgments themselves.
  if (standing.length !== counted.size || standing.some((j) => !counted.has(j.id))) return null;
  const next = [...standing.filter((j) => j.id !== supersededId), added];
  const comparison = {
    completionIds: c.completionIds,
    isGold: c.isGold,
    completions: completionsMap(c.completions),
  };
  return {
    ids: next.map((j) => j.id).sort(),
    delta: difference(contribution(comparison, next), contribution(comparison, standing)),
  };
}

function voteRows(c: Locked): VoteRow[] {
  return (c.judgments ?? []).map((j) => ({ ...j, createdAt: utc(j.createdAt) }));
}

async function judgmentByKey(sql: Sql, key: string): Promise<Judgment | null> {
  const rows = await sql.query<Judgment>(`SELECT * FROM "Judgment" WHERE "idempotencyKey" = $1::text`, [key]);
  return rows[0] ?? null;
}

async function comparisonState(sql: Sql, id: string): Promise<ComparisonState> {
  const rows = await sql.query<ComparisonState>(
    `SELECT id, status::text AS status, "judgmentCount", agreement, "completedAt" FROM "Comparison" WHERE id = $1::text`,
    [id],
  );
  if (!rows[0]) throw new DomainError("not_found", `No comparison ${id}.`);
  return rows[0];
}

function conflictingKey(key: string): DomainError {
  return new DomainError(
    "conflict",
    `The idempotency key "${key}" was already used for another comparison; generate a new key per submission.`,
  );
}

const JUDGMENT_COLUMNS = `(id, "idempotencyKey", "projectId", "comparisonId", source, "userId", "judgeConfigId", "judgeRunId", "assignmentId", verdict, rationale, ratings, flag, "flagReason", "displayOrder", "timeSpentMs", confidence, "isGoldCheck", "goldCorrect", "supersedesId", metadata, "createdAt")`;
const JUDGMENT_VALUES = `$1::text, $2::text, $3::text, $4::text, $5::text::"JudgmentSource", $6::text, $7::text, $8::text, $9::text, $10::jsonb, $11::text, $12::jsonb, $13::text, $14::text, $15::text[], $16::int, $17::float8, $18::boolean, $19::boolean, $20::text, $21::jsonb, $22::timestamp(3)`;

/**
 * Checks a new judgment against its comparison and plans the comparison's next state with it:
 * the judgment's row as statement parameters ($1..$22, JUDGMENT_VALUES) and the aggregation plan.
 */
async function prepareJudgment(
  sql: Sql,
  c: Locked,
  input: RecordJudgmentInput,
  verdict: Verdict,
): Promise<{ p: Plan; judgmentParams: unknown[] }> {
  checkVerdict(verdict, c.completionIds);
  if (input.displayOrder?.some((id) => !c.completionIds.includes(id)))
    throw new DomainError(
      "bad_request",
      "displayOrder names completions that are not part of this comparison.",
    );
  const now = input.now ?? new Date();
  const origin = input.origin;
  const isGoldCheck = input.isGoldCheck ?? c.isGold;
  let goldCorrect = input.goldCorrect;
  if (goldCorrect === undefined && isGoldCheck && c.goldAnswer) {
    const gold = Verdict.safeParse(c.goldAnswer);
    if (gold.success) goldCorrect = matchesGold(verdict, gold.data, c.completionIds);
  }

  let rows = voteRows(c);
  if (input.supersedesId) {
    if (!rows.some((r) => r.id === input.supersedesId)) {
      const old = await sql.query<{ comparisonId: string }>(
        `SELECT "comparisonId" FROM "Judgment" WHERE id = $1::text`,
        [input.supersedesId],
      );
      if (!old[0] || old[0].comparisonId !== c.id)
        throw new DomainError(
          "bad_request",
          `Judgment ${input.supersedesId} is not a judgment of comparison ${c.id}.`,
        );
      throw new DomainError(
        "conflict",
        `Judgment ${input.supersedesId} has already been corrected; correct the newest judgment instead.`,
      );
    }
    rows = rows.filter((r) => r.id !== input.supersedesId);
  }

  const id = newId();
  const userId = origin.kind === "human" || origin.kind === "adjudication" ? origin.userId : null;
  const judgeConfigId = origin.kind === "ai" ? origin.judgeConfigId : null;
  rows.push({
    id,
    source: SOURCE[origin.kind],
    verdict,
    createdAt: now,
    flag: input.flag ?? null,
    userId,
    judgeConfigId,
  });
  const p = await plan(sql, c, rows, now);
  const judgmentParams: unknown[] = [
    id,
    input.idempotencyKey,
    c.projectId,
    c.id,
    SOURCE[origin.kind],
    userId,
    judgeConfigId,
    origin.kind === "ai" ? (origin.judgeRunId ?? null) : null,
    input.assignmentId ?? null,
    JSON.stringify(verdict),
    input.rationale ?? null,
    input.ratings === undefined ? null : JSON.stringify(input.ratings),
    input.flag ?? null,
    input.flagReason ?? null,
    input.displayOrder ?? [],
    input.timeSpentMs ?? null,
    input.confidence ?? null,
    isGoldCheck,
    goldCorrect ?? null,
    input.supersedesId ?? null,
    JSON.stringify(input.metadata ?? {}),
    now,
  ];
  return { p, judgmentParams };
}

export interface RecordOptions {
  /**
   * Skip the lock-free lookup of the key before the transaction (the caller knows this is a first
   * submit, e.g. the annotation submit, which finds retries through its assignment). The key is
   * still checked under the comparison's lock.
   */
  skipPriorLookup?: boolean;
  /**
   * The annotation submit: end this (locked, active) assignment as "submitted" and release its
   * lease slot in the same statement that records the judgment.
   */
  endAssignment?: string;
  /** The caller's transaction already holds the comparison's row lock (taken in an earlier statement). */
  comparisonLocked?: boolean;
}

/**
 * Record one judgment (idempotent) and re-aggregate its comparison, in one transaction: the
 * comparison locked with everything aggregation needs (one query), then every write in one
 * statement. `db` is a Prisma client or transaction, or an Sql executor (server/db/sql.ts); inside
 * a transaction the work joins it.
 */
export async function recordJudgment(
  db: SqlSource,
  input: RecordJudgmentInput,
  opts: RecordOptions = {},
): Promise<RecordJudgmentResult> {
  const parsed = Verdict.safeParse(input.verdict);
  if (!parsed.success)
    throw new DomainError(
      "bad_request",
      `Invalid verdict: ${parsed.error.issues.map((i) => `${i.path.join(".") || "verdict"}: ${i.message}`).join("; ")}.`,
    );
  const verdict = parsed.data;
  if (!input.idempotencyKey || input.idempotencyKey.length > 200)
    throw new DomainError("bad_request", "idempotencyKey must be 1 to 200 characters.");
  const sql = toSql(db);

  // A retry: answer from the row already written, without taking a lock.
  if (!opts.skipPriorLookup) {
    const prior = await judgmentByKey(sql, input.idempotencyKey);
    if (prior) {
      if (prior.comparisonId !== input.comparisonId) throw conflictingKey(input.idempotencyKey);
      return { judgment: prior, created: false, comparison: await comparisonState(sql, prior.comparisonId) };
    }
  }

  try {
    return await sql.transaction(async (tx) => {
      const c = await lockComparison(
        tx,
        input.comparisonId,
        input.idempotencyKey,
        opts.comparisonLocked === true && sql.inTransaction,
      );
      if (!c) throw new DomainError("not_found", `No comparison ${input.comparisonId}.`);
      // Under the lock: a concurrent call with the same key has committed by now.
      if (c.keyed) {
        if (c.keyed.comparisonId !== c.id) throw conflictingKey(input.idempotencyKey);
        const j = await judgmentByKey(tx, input.idempotencyKey);
        if (j) return { judgment: j, created: false, comparison: await comparisonState(tx, c.id) };
      }

      const { p, judgmentParams } = await prepareJudgment(tx, c, input, verdict);
      const now = input.now ?? new Date();
      const roll = rollFor(
        c,
        {
          id: judgmentParams[0] as string,
          source: judgmentParams[4] as string,
          userId: judgmentParams[5] as string | null,
          verdict,
          displayOrder: judgmentParams[14] as string[],
          timeSpentMs: judgmentParams[15] as number | null,
          isGoldCheck: judgmentParams[17] as boolean,
          goldCorrect: judgmentParams[18] as boolean | null,
          createdAt: now,
        },
        input.supersedesId,
      );
      const w = aggregationWrites(c, p, now, judgmentParams.length, opts.endAssignment ?? null, roll);
      const inserted = await tx.query<Judgment>(
        `WITH sup AS (
           UPDATE "Judgment" SET "supersededAt" = $22::timestamp(3) WHERE id = $20::text AND "supersededAt" IS NULL RETURNING id
         ), ins AS (
           INSERT INTO "Judgment" ${JUDGMENT_COLUMNS}
           VALUES (${JUDGMENT_VALUES})
           ON CONFLICT DO NOTHING
           RETURNING *
         ), ${w.ctes}
         SELECT * FROM ins`,
        [...judgmentParams, ...w.params],
      );
      if (!inserted[0]) {
        // Not a retry of this comparison (that was found under the lock above): the key or the
        // corrected judgment was taken meanwhile. Throwing rolls back everything this call did.
        const k = await judgmentByKey(tx, input.idempotencyKey);
        if (k && k.comparisonId !== c.id) throw conflictingKey(input.idempotencyKey);
        throw new DomainError(
          "conflict",
          "This judgment could not be recorded: its key or the judgment it corrects was taken meanwhile; try again.",
        );
      }
      return { judgment: inserted[0], created: true, comparison: p.state };
    });
  } catch (e) {
    // Two transactions inserting the same new key: the loser's unique violation means "done".
    if (isUniqueViolation(e)) {
      const j = await judgmentByKey(sql, input.idempotencyKey);
      if (j) {
        if (j.comparisonId !== input.comparisonId) throw conflictingKey(input.idempotencyKey);
        return { judgment: j, created: false, comparison: await comparisonState(sql, j.comparisonId) };
      }
    }
    throw e;
  }
}

/** A project's aggregation settings (for callers outside recordJudgment). */
export async function aggregationSettings(db: SqlSource, projectId: string): Promise<AggregationSettings> {
  const rows = await toSql(db).query<{
    overlap: number;
    consensusRule: string;
    aiCountsTowardConsensus: boolean;
    settings: unknown;
  }>(
    `SELECT overlap, "consensusRule"::text AS "consensusRule", "aiCountsTowardConsensus", settings FROM "Project" WHERE id = $1::text`,
    [projectId],
  );
  const p = rows[0];
  if (!p) throw new DomainError("not_found", `No project ${projectId}.`);
  return settingsOf({ ...p } as Locked);
}

/**
 * Re-aggregate one comparison from its active (not superseded) judgments, under its row lock
 * (taken here; inside a transaction that already holds it, it is simply held). Pairs are only
 * replaced when they change, so an unchanged outcome leaves snapshots and export order alone.
 */
export async function recomputeComparison(
  db: SqlSource,
  comparisonId: string,
  opts: { now?: Date } = {},
): Promise<RecomputeResult> {
  const now = opts.now ?? new Date();
  return toSql(db).transaction(async (tx) => {
    const c = await lockComparison(tx, comparisonId);
    if (!c) throw new DomainError("not_found", `No comparison ${comparisonId}.`);
    const p = await plan(tx, c, voteRows(c), now);
    const w = aggregationWrites(c, p, now, 0);
    await tx.query(`WITH ${w.ctes} SELECT 1 AS ok`, w.params);
    return { ...p.state, pairsAdded: p.pairs?.length ?? 0, pairsRetired: p.pairsRetired };
  });
}
