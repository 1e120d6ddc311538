// Admin dashboards: project counts, throughput, per-annotator quality, agreement, and the
// Bradley–Terry leaderboard of completion sources. Served from the rollups (rollups.ts and
// migration 20261204173000): counters kept by the judgment transaction and by triggers, so a page
// reads a few hundred counter rows whatever the project's size. The figures are defined by the
// row-level functions in dashboard-stats.ts (which the tests hold these to).
import "server-only";
import type { Db } from "@/server/db/client";
import { toSql } from "@/server/db/sql";
import { DomainError } from "@/server/errors";
import {
  alphaFromCoincidences,
  bradleyTerryLeaderboardFromCounts,
  coincidenceMatrixFromCounts,
  fleissKappaFromCounts,
  median,
  wilsonInterval,
  type BattleCount,
} from "@/server/stats";
import { throughputFromCounts, type AnnotatorStats, type ProjectAgreement } from "./dashboard-stats";
import { BUCKET_MS, bringUpToDate, readCounters } from "./rollups";
import { findProjectByRef } from "@/server/projects/projects";

async function projectOrThrow(db: Db, idOrSlug: string) {
  const p = await findProjectByRef(db, idOrSlug, { id: true, slug: true, name: true, overlap: true });
  if (!p) throw new DomainError("not_found", `No project "${idOrSlug}".`);
  return p;
}

export interface ProjectSummary {
  id: string;
  slug: string;
  name: string;
  comparisons: Record<string, number>;
  judgments: { human: number; ai: number; import: number; adjudication: number };
  activeLeases: number;
  activePairs: number;
}

async function summariesOf(
  db: Db,
  projects: Array<{ id: string; slug: string; name: string }>,
): Promise<ProjectSummary[]> {
  const sql = toSql(db);
  const ids = projects.map((p) => p.id);
  for (const id of ids) await sql.query(`SELECT 1 AS ok FROM pw_stat_compact($1::text)`, [id]);
  const [cells, leases] = await Promise.all([
    sql.query<{ projectId: string; key: string; n: string | number }>(
      `SELECT "projectId", key, n FROM "StatCell"
       WHERE "projectId" = ANY($1::text[]) AND (starts_with(key, 'cs|') OR starts_with(key, 'js|') OR key = 'pp')`,
      [ids],
    ),
    sql.query<{ projectId: string; n: number }>(
      `SELECT "projectId", count(*)::int AS n FROM "Assignment"
       WHERE "projectId" = ANY($1::text[]) AND status = 'active' AND "expiresAt" > $2::timestamp(3) GROUP BY 1`,
      [ids, new Date()],
    ),
  ]);
  return projects.map((p) => {
    const comparisons: Record<string, number> = {
      open: 0,
      complete: 0,
      review: 0,
      adjudicated: 0,
      flagged: 0,
    };
    const judgments = { human: 0, ai: 0, import: 0, adjudication: 0 };
    let activePairs = 0;
    for (const c of cells) {
      if (c.projectId !== p.id) continue;
      const n = Number(c.n);
      if (c.key.startsWith("cs|")) {
        if (n !== 0) comparisons[c.key.slice(3)] = n;
      } else if (c.key.startsWith("js|")) judgments[c.key.slice(3) as keyof typeof judgments] = n;
      else if (c.key === "pp") activePairs = n;
    }
    return {
      ...p,
      comparisons,
      judgments,
      activeLeases: leases.find((l) => l.projectId === p.id)?.n ?? 0,
      activePairs,
    };
  });
}

export async function projectSummaries(db: Db): Promise<ProjectSummary[]> {
  const projects = await db.project.findMany({
    where: { archived: false },
    orderBy: { createdAt: "asc" },
    select: { id: true, slug: true, name: true },
  });
  return summariesOf(db, projects);
}

/** Agreement over the units (pairs of completions of one comparison) counted in the rollups. */
function agreementFromUnits(
  patterns: Array<{ counts: [number, number, number]; units: number }>,
  overlap: number,
): ProjectAgreement {
  const a = alphaFromCoincidences(
    coincidenceMatrixFromCounts(
      patterns.map((p) => ({
        counts: new Map([
          [-1, p.counts[0]],
          [0, p.counts[1]],
          [1, p.counts[2]],
        ]),
        units: p.units,
      })),
    ),
    "ordinal",
  );
  let kappa: number | null = null;
  let kappaUnits = 0;
  if (overlap >= 2) {
    const fixed = patterns.filter((p) => p.counts[0] + p.counts[1] + p.counts[2] === overlap);
    kappaUnits = fixed.reduce((s, p) => s + p.units, 0);
    if (kappaUnits) {
      const k = fleissKappaFromCounts(fixed.map((p) => ({ counts: p.counts, units: p.units }))).kappa;
      kappa = Number.isFinite(k) ? k : null;
    }
  }
  let agree = 0;
  let pairs = 0;
  for (const p of patterns) {
    const m = p.counts[0] + p.counts[1] + p.counts[2];
    pairs += (p.units * m * (m - 1)) / 2;
    for (const c of p.counts) agree += (p.units * c * (c - 1)) / 2;
  }
  return {
    alpha: Number.isFinite(a.alpha) ? a.alpha : null,
    alphaUnits: a.pairableUnits,
    alphaRatings: a.pairableValues,
    kappa,
    kappaUnits,
    kappaRaters: overlap,
    pairwiseAgreement: pairs ? agree / pairs : null,
  };
}

function rate(hits: number, considered: number) {
  if (!considered) return { rate: null, considered, lower: null, upper: null };
  const w = wilsonInterval(hits, considered);
  return { rate: hits / considered, considered, lower: w.lower, upper: w.upper };
}

/**
 * Median time on task per annotator, exactly: the rollups count each annotator's judgments by
 * whole second (t|<user>|<second>), which says in which second the middle one(s) lie (found in
 * SQL, from a running sum over those counters); the index on (project, user, time) then reads only
 * the judgments of that second.
 */
async function medianSeconds(db: Db, projectId: string): Promise<Map<string, number>> {
  const rows = await toSql(db).query<{ user: string; rank: number; ms: number | null }>(
    `WITH t AS (
       SELECT split_part(key, '|', 2) AS u, split_part(key, '|', 3)::int AS s, n
       FROM "StatCell" WHERE "projectId" = $1::text AND starts_with(key, 't|') AND n <> 0),
     c AS (
       SELECT u, s, n, sum(n) OVER (PARTITION BY u ORDER BY s) - n AS before, sum(n) OVER (PARTITION BY u) AS total
       FROM t),
     r AS (
       SELECT u, unnest(CASE WHEN total % 2 = 1 THEN ARRAY[(total - 1) / 2] ELSE ARRAY[total / 2 - 1, total / 2] END) AS rank
       FROM (SELECT DISTINCT u, total FROM c WHERE total > 0) x),
     w AS (
       SELECT r.u, c.s, (r.rank - c.before)::int AS o, r.rank::int AS rank
       FROM r JOIN c ON c.u = r.u AND r.rank >= c.before AND r.rank < c.before + c.n)
     SELECT w.u AS "user", w.rank, (
       SELECT j."timeSpentMs" FROM "Judgment" j
       WHERE j."projectId" = $1::text AND j."userId" = w.u AND j.source = 'human' AND j."supersededAt" IS NULL
         AND j."timeSpentMs" IS NOT NULL AND j."timeSpentMs" >= w.s * 1000 AND j."timeSpentMs" < (w.s + 1) * 1000
       ORDER BY j."timeSpentMs" OFFSET w.o LIMIT 1) AS ms
     FROM w`,
    [projectId],
  );
  const values = new Map<string, number[]>();
  for (const r of rows.sort((x, y) => x.rank - y.rank)) {
    if (r.ms === null) continue;
    const list = values.get(r.user) ?? [];
    list.push(r.ms);
    values.set(r.user, list);
  }
  return new Map([...values].map(([u, v]) => [u, median(v)]));
}

export async function projectDashboard(
  db: Db,
  idOrSlug: string,
  opts: { now?: Date; days?: number; tzOffsetMinutes?: number } = {},
) {
  const now = opts.now ?? new Date();
  const project = await projectOrThrow(db, idOrSlug);
  await bringUpToDate(db, project.id);
  const tz = opts.tzOffsetMinutes ?? 0;
  const days = opts.days ?? 30;
  // Only the window's buckets (two days of margin for any zone), not the project's whole history.
  const since = new Date(now.getTime() - (days + 2) * 86_400_000);
  const counters = await readCounters(db, project.id, ["a|", "u|"]);
  const byUser = new Map<string, Record<string, number>>();
  const patterns: Array<{ counts: [number, number, number]; units: number }> = [];
  for (const [key, n] of counters) {
    if (key.startsWith("a|")) {
      const [, user, what] = key.split("|") as [string, string, string];
      const r = byUser.get(user) ?? {};
      r[what] = n;
      byUser.set(user, r);
    } else if (key.startsWith("u|")) {
      const c = key.slice(2).split(",").map(Number) as [number, number, number];
      patterns.push({ counts: c, units: n });
    }
  }
  let daily: Array<{ at: Date; count: number }>;
  if (tz % 15 === 0) {
    const rows = await toSql(db).query<{ bucket: string | number; n: string | number }>(
      `SELECT substr(key, 3)::bigint AS bucket, n FROM "StatCell"
       WHERE "projectId" = $1::text AND starts_with(key, 'd|') AND n <> 0 AND substr(key, 3)::bigint >= $2::bigint`,
      [project.id, Math.floor(since.getTime() / BUCKET_MS)],
    );
    daily = rows.map((r) => ({ at: new Date(Number(r.bucket) * BUCKET_MS), count: Number(r.n) }));
  } else {
    // A zone off the 15-minute grid (none in use today): count the window's judgments themselves.
    const rows = await toSql(db).query<{ at: Date }>(
      `SELECT "createdAt" AS at FROM "Judgment" WHERE "projectId" = $1::text AND source = 'human'
         AND "supersededAt" IS NULL AND "userId" IS NOT NULL AND "createdAt" >= $2::timestamp(3)`,
      [project.id, since],
    );
    daily = rows.map((r) => ({ at: new Date(r.at), count: 1 }));
  }
  const users = [...byUser.entries()].filter(([, r]) => (r.items ?? 0) > 0);
  const [names, medians, summary] = await Promise.all([
    db.user.findMany({
      where: { id: { in: users.map(([u]) => u) } },
      select: { id: true, name: true, email: true },
    }),
    medianSeconds(db, project.id),
    summariesOf(db, [{ id: project.id, slug: project.slug, name: project.name }]),
  ]);
  const nameOf = new Map(names.map((u) => [u.id, u]));
  const annotators: AnnotatorStats[] = users.map(([userId, r]) => {
    const goldDone = r.goldDone ?? 0;
    const goldOk = r.goldOk ?? 0;
    const cmp = r.cmp ?? 0;
    const ms = medians.get(userId);
    return {
      userId,
      items: r.items ?? 0,
      medianSeconds: ms === undefined ? null : ms / 1000,
      gold: { done: goldDone, correct: goldOk, accuracy: goldDone ? goldOk / goldDone : null },
      agreement: { rate: cmp ? (r.agree ?? 0) / cmp : null, comparisons: cmp },
      positionBias: rate(r.posHit ?? 0, r.posN ?? 0),
      lengthBias: rate(r.lenHit ?? 0, r.lenN ?? 0),
    };
  });
  annotators.sort((x, y) => y.items - x.items || (x.userId < y.userId ? -1 : 1));
  return {
    project,
    summary: summary[0] ?? null,
    throughput: throughputFromCounts(daily, { now, days, tzOffsetMinutes: tz }),
    agreement: agreementFromUnits(patterns, project.overlap),
    annotators: annotators.map((s) => ({
      ...s,
      name: nameOf.get(s.userId)?.name ?? "?",
      email: nameOf.get(s.userId)?.email ?? "",
    })),
  };
}

export type LeaderboardOrigin = "human" | "ai" | "all";

/**
 * Bradley–Terry ratings of completion sources (model name, or checkpoint name when the completion
 * came from one of our checkpoints), Chatbot Arena style: R = 400·θ + 1000, 95% intervals from
 * 100 bootstrap resamples of the battle counts, rank = 1 + the number of sources whose lower bound
 * exceeds this one's upper bound. Every standing judgment is a battle (adjudications count with
 * the humans); gold items are left out. Fitted from the rollups' (source, A, B, outcome) counts.
 */
export async function leaderboard(
  db: Db,
  idOrSlug: string,
  opts: { origin?: LeaderboardOrigin; rounds?: number; seed?: number } = {},
) {
  const project = await projectOrThrow(db, idOrSlug);
  const origin = opts.origin ?? "human";
  const sources =
    origin === "human"
      ? (["human", "adjudication"] as const)
      : origin === "ai"
        ? (["ai"] as const)
        : (["human", "adjudication", "ai", "import"] as const);
  await bringUpToDate(db, project.id);
  const counters = await readCounters(db, project.id, ["b|"]);
  const wanted = new Set<string>(sources);
  const merged = new Map<string, BattleCount>();
  for (const [key, n] of counters) {
    const [source, a, b, winner] = JSON.parse(key.slice(2)) as [
      string,
      string,
      string,
      BattleCount["winner"],
    ];
    if (!wanted.has(source) || n <= 0) continue;
    const k = JSON.stringify([a, b, winner]);
    const cell = merged.get(k);
    if (cell) cell.count += n;
    else merged.set(k, { a, b, winner, count: n });
  }
  // A fixed order (by key), so the same counts give the same figures.
  const list = [...merged.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([, c]) => c);
  const total = list.reduce((s, c) => s + c.count, 0);
  if (total === 0) return { project, origin, battles: 0, rows: [] as LeaderboardRowView[] };
  const board = bradleyTerryLeaderboardFromCounts(list, {
    rounds: opts.rounds ?? 100,
    seed: opts.seed ?? 42,
  });
  return {
    project,
    origin,
    battles: total,
    rows: board.rows.map((r): LeaderboardRowView => ({
      source: r.source,
      rating: r.rating,
      lower: r.lower,
      upper: r.upper,
      rank: r.rank,
      battles: r.battles,
      wins: r.wins,
      losses: r.losses,
      ties: r.ties,
    })),
  };
}

export interface LeaderboardRowView {
  source: string;
  rating: number;
  lower: number;
  upper: number;
  rank: number;
  battles: number;
  wins: number;
  losses: number;
  ties: number;
}
