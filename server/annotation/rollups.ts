// Dashboard rollups: what the admin dashboard and the leaderboard show, kept as counters
// (StatCell + StatDelta, migration 20261204173000) instead of recomputed from every judgment.
//
// Every dashboard figure is a sum over comparisons of something that depends only on that
// comparison's standing judgments (see dashboard-stats.ts for the definitions):
//   a|<user>|items|goldDone|goldOk|posN|posHit|lenN|lenHit|agree|cmp   per-annotator counts
//   t|<user>|<second>       judgments by time on task (whole seconds), to find the median
//   u|<neg>,<zero>,<pos>    agreement units (pairs of completions of one comparison) rated by two or
//                           more annotators, by how many rated −1, 0 and +1: all Krippendorff's α,
//                           Fleiss' κ and raw agreement need
//   d|<bucket>              standing human judgments per 15-minute bucket (throughput, any zone)
//   b|<json [source, a, b, winner]>  battles between completion sources, by judgment source
// So a comparison's contribution is computed here from its judgments, and when they change (the
// judgment transaction, under the comparison's row lock) the difference new − old is added.
// Comparison.rolledIds lists the judgments the counted contribution came from; rolledUp = false
// marks comparisons whose counted contribution may be stale (data from before the rollups, bulk
// imports): bringUpToDate recomputes those before a dashboard is read.
//
// Writers only append delta rows (no row is updated, so submits never wait on each other here);
// readers fold them in first (pw_stat_compact).
// No "server-only" import: recordJudgment (worker, CLI, web endpoints) calls this.
import { toSql, type Sql, type SqlSource } from "@/server/db/sql";
import { Verdict } from "@/server/data/verdict";
import { pairRatings, type Rating } from "./dashboard-stats";

export interface RollJudgment {
  id: string;
  source: string;
  userId: string | null;
  verdict: unknown;
  displayOrder: string[] | null;
  timeSpentMs: number | null;
  isGoldCheck: boolean;
  goldCorrect: boolean | null;
  createdAt: Date;
}

export interface RollComparison {
  completionIds: string[];
  isGold: boolean;
  /** Length (characters) and leaderboard source name of each completion, by id. */
  completions: ReadonlyMap<string, { len: number; source: string }>;
}

export const BUCKET_MS = 15 * 60_000;
const bucketKey = (at: Date) => `d|${String(Math.floor(at.getTime() / BUCKET_MS)).padStart(10, "0")}`;

function add(m: Map<string, number>, key: string, n = 1) {
  m.set(key, (m.get(key) ?? 0) + n);
}

function twoWayWinner(v: Verdict, completionIds: readonly string[]): "a" | "b" | "tie" | null {
  if (v.kind !== "pairwise" || completionIds.length !== 2) return null;
  if (v.outcome !== "win") return "tie";
  return v.winnerId === completionIds[0] ? "a" : "b";
}

/** The counters one comparison contributes, given its standing judgments. */
export function contribution(c: RollComparison, judgments: readonly RollJudgment[]): Map<string, number> {
  const out = new Map<string, number>();
  const parsed = judgments.flatMap((j) => {
    const v = Verdict.safeParse(j.verdict);
    return v.success ? [{ j, v: v.data }] : [];
  });
  // Battles: every standing judgment of a non-gold comparison, by its source.
  if (!c.isGold) {
    for (const { j, v } of parsed) {
      for (const p of pairRatings(v, c.completionIds)) {
        const a = c.completions.get(c.completionIds[p.i]!)?.source;
        const b = c.completions.get(c.completionIds[p.j]!)?.source;
        if (!a || !b || a === b) continue;
        const w = p.rating === 1 ? "a" : p.rating === -1 ? "b" : "tie";
        add(out, `b|${JSON.stringify([j.source, a, b, w])}`);
      }
    }
  }
  // The dashboard's votes: standing human judgments with a user.
  const votes = parsed
    .filter(({ j }) => j.source === "human" && j.userId)
    .sort((x, y) => x.j.createdAt.getTime() - y.j.createdAt.getTime());
  const [ia, ib] = c.completionIds;
  for (const { j, v } of votes) {
    const u = `a|${j.userId}|`;
    add(out, `${u}items`);
    // Time on task by whole second, so the median is found in a small index range.
    if (j.timeSpentMs !== null)
      add(out, `t|${j.userId}|${String(Math.floor(j.timeSpentMs / 1000)).padStart(7, "0")}`);
    add(out, bucketKey(j.createdAt));
    if (j.isGoldCheck && j.goldCorrect !== null) {
      add(out, `${u}goldDone`);
      if (j.goldCorrect) add(out, `${u}goldOk`);
    }
    const winner = twoWayWinner(v, c.completionIds);
    if (winner === null || winner === "tie") continue;
    if (j.displayOrder?.length === 2) {
      add(out, `${u}posN`);
      if (winner === (j.displayOrder[0] === ia ? "a" : "b")) add(out, `${u}posHit`);
    }
    const la = c.completions.get(ia!)?.len;
    const lb = c.completions.get(ib!)?.len;
    if (la !== undefined && lb !== undefined && la !== lb) {
      add(out, `${u}lenN`);
      if (winner === (la > lb ? "a" : "b")) add(out, `${u}lenHit`);
    }
  }
  // Units: the latest rating of each annotator on each pair of completions.
  const units = new Map<string, Map<string, Rating>>();
  for (const { j, v } of votes) {
    for (const p of pairRatings(v, c.completionIds)) {
      const key = `${p.i}:${p.j}`;
      let m = units.get(key);
      if (!m) units.set(key, (m = new Map()));
      m.set(j.userId!, p.rating);
    }
  }
  for (const m of units.values()) {
    if (m.size < 2) continue;
    const counts = { "-1": 0, "0": 0, "1": 0 };
    for (const r of m.values()) counts[r]++;
    add(out, `u|${counts["-1"]},${counts["0"]},${counts["1"]}`);
    for (const [user, r] of m) {
      add(out, `a|${user}|cmp`, m.size - 1);
      add(out, `a|${user}|agree`, counts[r] - 1);
    }
  }
  for (const [k, n] of out) if (n === 0) out.delete(k);
  return out;
}

/** new − old, without zeros. */
export function difference(next: Map<string, number>, prev: Map<string, number>): Map<string, number> {
  const d = new Map(next);
  for (const [k, n] of prev) d.set(k, (d.get(k) ?? 0) - n);
  for (const [k, n] of d) if (n === 0) d.delete(k);
  return d;
}

/** Appends counter deltas for a project (no row is updated, so nothing waits). */
export async function addDeltas(sql: Sql, projectId: string, delta: Map<string, number>): Promise<void> {
  if (delta.size === 0) return;
  await sql.query(
    `INSERT INTO "StatDelta" ("projectId", "key", "n") SELECT $1::text, k, n FROM unnest($2::text[], $3::bigint[]) AS x(k, n)`,
    [projectId, [...delta.keys()], [...delta.values()]],
  );
}

/** What contribution() needs about a comparison's completions, as SQL (for the loaders). */
export const COMPLETIONS_JSON = (
  comparison: string,
) => `(SELECT json_agg(json_build_object('id', y.id, 'len', length(y.text),
    'source', CASE WHEN ck.id IS NOT NULL THEN 'checkpoint:' || ck.name ELSE y."modelName" END))
  FROM "Completion" y LEFT JOIN "Checkpoint" ck ON ck.id = y."checkpointId" WHERE y.id = ANY(${comparison}."completionIds"))`;

/** The judgment fields contribution() needs, as a json_build_object argument list over alias `j`. */
export const JUDGMENT_JSON_FIELDS = `'id', j.id, 'source', j.source, 'verdict', j.verdict, 'createdAt', j."createdAt", 'userId', j."userId",
  'displayOrder', j."displayOrder", 'timeSpentMs', j."timeSpentMs", 'isGoldCheck', j."isGoldCheck", 'goldCorrect', j."goldCorrect"`;

export function completionsMap(
  rows: Array<{ id: string; len: number; source: string }> | null,
): Map<string, { len: number; source: string }> {
  return new Map((rows ?? []).map((r) => [r.id, { len: r.len, source: r.source }]));
}

/** json timestamps (timestamp(3) without zone, stored in UTC) back to Dates. */
export const utcDate = (s: string | Date): Date =>
  s instanceof Date ? s : new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : s + "Z");

interface StaleRow {
  id: string;
  projectId: string;
  completionIds: string[];
  isGold: boolean;
  completions: Array<{ id: string; len: number; source: string }> | null;
  prev: Array<Omit<RollJudgment, "createdAt"> & { createdAt: string }> | null;
  next: Array<Omit<RollJudgment, "createdAt"> & { createdAt: string }> | null;
}

const toJudgments = (rows: StaleRow["prev"]): RollJudgment[] =>
  (rows ?? []).map((j) => ({ ...j, createdAt: utcDate(j.createdAt) }));

/**
 * Brings the rollups of comparisons marked stale (rolledUp = false) up to date, in batches, each
 * batch one transaction holding the batch's row locks (rows a judgment is being written to are
 * skipped and picked up by the next round). Returns how many comparisons it brought in. Cheap
 * when nothing is stale: one index probe.
 */
export async function bringUpToDate(
  db: SqlSource,
  projectId: string,
  opts: { batch?: number; onProgress?: (done: number) => void } = {},
): Promise<number> {
  const sql = toSql(db);
  const batch = opts.batch ?? 2000;
  let done = 0;
  for (;;) {
    const n = await sql.transaction(async (tx) => {
      const rows = await tx.query<StaleRow>(
        `WITH stale AS (
          SELECT c.id FROM "Comparison" c WHERE c."projectId" = $1::text AND NOT c."rolledUp"
          ORDER BY c.id LIMIT $2::int FOR UPDATE SKIP LOCKED)
        SELECT c.id, c."projectId", c."completionIds", c."isGold", ${COMPLETIONS_JSON("c")} AS completions,
          (SELECT json_agg(json_build_object(${JUDGMENT_JSON_FIELDS})) FROM "Judgment" j WHERE j.id = ANY(c."rolledIds")) AS prev,
          (SELECT json_agg(json_build_object(${JUDGMENT_JSON_FIELDS})) FROM "Judgment" j WHERE j."comparisonId" = c.id AND j."supersededAt" IS NULL) AS next
        FROM stale JOIN "Comparison" c ON c.id = stale.id`,
        [projectId, batch],
      );
      if (!rows.length) return 0;
      const total = new Map<string, number>();
      for (const r of rows) {
        const c = {
          completionIds: r.completionIds,
          isGold: r.isGold,
          completions: completionsMap(r.completions),
        };
        const d = difference(contribution(c, toJudgments(r.next)), contribution(c, toJudgments(r.prev)));
        for (const [k, n] of d) add(total, k, n);
      }
      for (const [k, n] of total) if (n === 0) total.delete(k);
      await addDeltas(tx, projectId, total);
      await tx.query(
        `UPDATE "Comparison" c SET "rolledUp" = true,
          "rolledIds" = ARRAY(SELECT j.id FROM "Judgment" j WHERE j."comparisonId" = c.id AND j."supersededAt" IS NULL ORDER BY j.id)
        WHERE c.id = ANY($1::text[])`,
        [rows.map((r) => r.id)],
      );
      return rows.length;
    });
    done += n;
    if (n > 0) opts.onProgress?.(done);
    if (n === 0) {
      // Rows skipped because a judgment was being written: wait for them.
      const [left] = await sql.query<{ ok: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM "Comparison" WHERE "projectId" = $1::text AND NOT "rolledUp") AS ok`,
        [projectId],
      );
      if (!left?.ok) return done;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** Folds pending deltas in and reads a project's counters whose key starts with one of `prefixes`. */
export async function readCounters(
  db: SqlSource,
  projectId: string,
  prefixes: string[],
): Promise<Map<string, number>> {
  const sql = toSql(db);
  await sql.query(`SELECT 1 AS ok FROM pw_stat_compact($1::text)`, [projectId]);
  const rows = await sql.query<{ key: string; n: string | number }>(
    `SELECT key, n FROM "StatCell" WHERE "projectId" = $1::text AND n <> 0
       AND (${prefixes.map((_, i) => `starts_with(key, $${i + 2}::text)`).join(" OR ")})`,
    [projectId, ...prefixes],
  );
  return new Map(rows.map((r) => [r.key, Number(r.n)]));
}
