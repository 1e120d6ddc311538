// Admin dashboards: project counts, throughput, per-annotator quality, agreement, and the
// Bradley–Terry leaderboard of completion sources. Loads rows, then hands them to the pure
// functions in dashboard-stats.ts and server/stats.
import "server-only";
import type { Db } from "@/server/db/client";
import { DomainError } from "@/server/errors";
import { Verdict } from "@/server/data/verdict";
import { bradleyTerryLeaderboard } from "@/server/stats";
import { findProjectByRef } from "@/server/projects/projects";
import { annotatorStats, battles, projectAgreement, throughput, type VoteRow } from "./dashboard-stats";

async function projectOrThrow(db: Db, idOrSlug: string) {
  const p = await findProjectByRef(db, idOrSlug, { id: true, slug: true, name: true, overlap: true });
  if (!p) throw new DomainError("not_found", `No project "${idOrSlug}".`);
  return p;
}

/** Human judgments still standing (not superseded), with what the figures need. */
async function loadVotes(db: Db, projectId: string): Promise<VoteRow[]> {
  const rows = await db.judgment.findMany({
    where: { projectId, source: "human", supersededAt: null, userId: { not: null } },
    select: {
      id: true,
      comparisonId: true,
      userId: true,
      verdict: true,
      displayOrder: true,
      timeSpentMs: true,
      isGoldCheck: true,
      goldCorrect: true,
      createdAt: true,
      comparison: { select: { completionIds: true } },
    },
  });
  const out: VoteRow[] = [];
  for (const r of rows) {
    const v = Verdict.safeParse(r.verdict);
    if (!v.success || !r.userId) continue;
    out.push({
      judgmentId: r.id,
      comparisonId: r.comparisonId,
      completionIds: r.comparison.completionIds,
      userId: r.userId,
      verdict: v.data,
      displayOrder: r.displayOrder,
      timeSpentMs: r.timeSpentMs,
      isGoldCheck: r.isGoldCheck,
      goldCorrect: r.goldCorrect,
      createdAt: r.createdAt,
    });
  }
  return out;
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

export async function projectSummaries(db: Db): Promise<ProjectSummary[]> {
  const [projects, byStatus, bySource, leases, pairs] = await Promise.all([
    db.project.findMany({
      where: { archived: false },
      orderBy: { createdAt: "asc" },
      select: { id: true, slug: true, name: true },
    }),
    db.comparison.groupBy({ by: ["projectId", "status"], _count: { _all: true } }),
    db.judgment.groupBy({
      by: ["projectId", "source"],
      where: { supersededAt: null },
      _count: { _all: true },
    }),
    db.assignment.groupBy({
      by: ["projectId"],
      where: { status: "active", expiresAt: { gt: new Date() } },
      _count: { _all: true },
    }),
    db.preferencePair.groupBy({ by: ["projectId"], where: { active: true }, _count: { _all: true } }),
  ]);
  return projects.map((p) => {
    const comparisons: Record<string, number> = {
      open: 0,
      complete: 0,
      review: 0,
      adjudicated: 0,
      flagged: 0,
    };
    for (const s of byStatus) if (s.projectId === p.id) comparisons[s.status] = s._count._all;
    const judgments = { human: 0, ai: 0, import: 0, adjudication: 0 };
    for (const s of bySource) if (s.projectId === p.id) judgments[s.source] = s._count._all;
    return {
      ...p,
      comparisons,
      judgments,
      activeLeases: leases.find((l) => l.projectId === p.id)?._count._all ?? 0,
      activePairs: pairs.find((l) => l.projectId === p.id)?._count._all ?? 0,
    };
  });
}

export async function projectDashboard(
  db: Db,
  idOrSlug: string,
  opts: { now?: Date; days?: number; tzOffsetMinutes?: number } = {},
) {
  const now = opts.now ?? new Date();
  const project = await projectOrThrow(db, idOrSlug);
  const votes = await loadVotes(db, project.id);
  const lengthRows = await db.$queryRaw<Array<{ id: string; n: number }>>`
    SELECT id, length(text)::int AS n FROM "Completion" WHERE "projectId" = ${project.id}`;
  const lengths = new Map(lengthRows.map((r) => [r.id, r.n]));
  const users = await db.user.findMany({
    where: { id: { in: [...new Set(votes.map((v) => v.userId))] } },
    select: { id: true, name: true, email: true },
  });
  const names = new Map(users.map((u) => [u.id, u]));
  const summary = (await projectSummaries(db)).find((s) => s.id === project.id);
  return {
    project,
    summary: summary ?? null,
    throughput: throughput(
      votes.map((v) => v.createdAt),
      { now, days: opts.days ?? 30, tzOffsetMinutes: opts.tzOffsetMinutes },
    ),
    agreement: projectAgreement(votes, project.overlap),
    annotators: annotatorStats(votes, lengths).map((s) => ({
      ...s,
      name: names.get(s.userId)?.name ?? "?",
      email: names.get(s.userId)?.email ?? "",
    })),
  };
}

export type LeaderboardOrigin = "human" | "ai" | "all";

/**
 * Bradley–Terry ratings of completion sources (model name, or checkpoint name when the completion
 * came from one of our checkpoints), Chatbot Arena style: R = 400·θ + 1000, 95% intervals from
 * 100 bootstrap resamples, rank = 1 + the number of sources whose lower bound exceeds this one's
 * upper bound. Every standing judgment is a battle (adjudications count with the humans).
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
  const rows = await db.judgment.findMany({
    where: { projectId: project.id, supersededAt: null, source: { in: [...sources] } },
    select: { verdict: true, comparison: { select: { completionIds: true, isGold: true } } },
  });
  const completions = await db.completion.findMany({
    where: { projectId: project.id },
    select: { id: true, modelName: true, checkpoint: { select: { name: true } } },
  });
  const sourceOf = new Map(
    completions.map((c) => [c.id, c.checkpoint ? `checkpoint:${c.checkpoint.name}` : c.modelName]),
  );
  const parsed = rows.flatMap((r) => {
    if (r.comparison.isGold) return []; // checks on annotators, not evidence about models
    const v = Verdict.safeParse(r.verdict);
    return v.success ? [{ verdict: v.data, completionIds: r.comparison.completionIds }] : [];
  });
  const list = battles(parsed, sourceOf);
  if (list.length === 0) return { project, origin, battles: 0, rows: [] as LeaderboardRowView[] };
  const board = bradleyTerryLeaderboard(list, { rounds: opts.rounds ?? 100, seed: opts.seed ?? 42 });
  return {
    project,
    origin,
    battles: list.length,
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
