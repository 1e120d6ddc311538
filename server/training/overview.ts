// What the admin training page shows for a project, in one read: settings, rounds, checkpoints
// (lineage), per-round evaluation series, the next scheduled run and the pairs waiting. No
// trainer import: this runs in the web app.
import { db } from "@/server/db/client";
import { DomainError } from "@/server/errors";
import { nextFire, parseCron } from "./cron";
import {
  listCheckpoints,
  listRounds,
  roundMetrics,
  type CheckpointView,
  type MetricSeries,
  type RoundView,
} from "./rounds";
import { trainingSettingsOf, type TrainingSettings } from "./settings";
import { newPairsSinceLastRound } from "./triggers";

export interface RoundSummary {
  round: number;
  id: string;
  status: string;
  goldAccuracy: number | null;
  goldReward: number | null;
  rmValAccuracy: number | null;
  winRate: number | null;
  kl: number | null;
  rating: number | null;
  promoted: boolean | null;
  seconds: number;
}

export interface TrainingOverview {
  project: { id: string; slug: string; name: string; aiCountsTowardConsensus: boolean; overlap: number };
  settings: TrainingSettings | null;
  settingsError: string | null;
  rounds: RoundView[];
  checkpoints: Array<Omit<CheckpointView, "metrics"> & { metrics: Record<string, unknown> }>;
  perRound: RoundSummary[];
  nextCronAt: Date | null;
  newPairs: number;
  pairs: number;
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

export function roundSummary(r: RoundView): RoundSummary {
  const ev = (r.result.evaluate ?? {}) as Record<string, unknown>;
  const rw = (r.result.reward ?? {}) as Record<string, unknown>;
  return {
    round: r.number,
    id: r.id,
    status: r.status,
    goldAccuracy: num(ev["goldAccuracy"]),
    goldReward: num(ev["goldReward"]),
    rmValAccuracy: num(rw["valAccuracy"]),
    winRate: num(ev["winRate"]),
    kl: num(ev["kl"]),
    rating: num(ev["rating"]),
    // null when there was nothing to promote (no policy trained), as the lineage shows
    promoted: r.result.gate && r.result.gate.decision !== "nothing_to_promote" ? r.result.gate.passed : null,
    seconds: Object.values(r.result.seconds ?? {}).reduce((a, b) => a + b, 0),
  };
}

export async function trainingOverview(projectIdOrSlug: string): Promise<TrainingOverview> {
  const p = await db().project.findFirst({
    where: { OR: [{ id: projectIdOrSlug }, { slug: projectIdOrSlug }] },
    select: {
      id: true,
      slug: true,
      name: true,
      settings: true,
      aiCountsTowardConsensus: true,
      overlap: true,
    },
  });
  if (!p) throw new DomainError("not_found", `No project ${projectIdOrSlug}.`);
  let settings: TrainingSettings | null = null;
  let settingsError: string | null = null;
  try {
    settings = trainingSettingsOf(p.settings);
  } catch (e) {
    settingsError = (e as Error).message;
  }
  const rounds = await listRounds(p.id, { take: 200 });
  const checkpoints = (await listCheckpoints(p.id)).map((c) => {
    // The stored held-out samples are large; the page needs the numbers.
    const { eval: ev, ...rest } = c.metrics as { eval?: Record<string, unknown> };
    return {
      ...c,
      metrics: {
        ...rest,
        ...(ev
          ? { eval: { goldAccuracy: ev["goldAccuracy"], goldReward: ev["goldReward"], n: ev["n"] } }
          : {}),
      },
    };
  });
  const cron = settings?.schedule.cron;
  return {
    project: {
      id: p.id,
      slug: p.slug,
      name: p.name,
      aiCountsTowardConsensus: p.aiCountsTowardConsensus,
      overlap: p.overlap,
    },
    settings,
    settingsError,
    rounds,
    checkpoints,
    perRound: rounds
      .filter((r) => r.result.evaluate)
      .map(roundSummary)
      .reverse(),
    nextCronAt: cron ? nextFire(parseCron(cron), new Date()) : null,
    newPairs: await newPairsSinceLastRound(p.id),
    pairs: await db().preferencePair.count({ where: { projectId: p.id, active: true } }),
  };
}

export interface RoundDetail {
  round: RoundView;
  metrics: MetricSeries[];
  checkpoints: CheckpointView[];
}

export async function roundDetail(roundId: string): Promise<RoundDetail> {
  const r = await db().trainingRound.findUnique({ where: { id: roundId }, select: { projectId: true } });
  if (!r) throw new DomainError("not_found", `No training round ${roundId}.`);
  const rounds = await listRounds(r.projectId, { take: 1000 });
  const round = rounds.find((x) => x.id === roundId) as RoundView;
  const checkpoints = (await listCheckpoints(r.projectId))
    .filter((c) => c.roundId === roundId)
    .map((c) => {
      const { eval: _e, ...rest } = c.metrics as { eval?: unknown };
      void _e;
      return { ...c, metrics: rest };
    });
  return { round, metrics: await roundMetrics(roundId), checkpoints };
}
