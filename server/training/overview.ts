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
import { findProjectByRef } from "@/server/projects/projects";
import type { EnvScore } from "./env-eval"; // a type only: no trainer code reaches the web app

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
  /** The evaluated checkpoint and every environment's held-out score (games: per opponent). */
  checkpointId: string | null;
  environments: Record<string, EnvScore> | null;
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
  /** The model trained: the settings' base folder, and what the bootstrap loaded (architecture, size, dtype). */
  model: {
    basePath: string | null;
    info: {
      architecture: string;
      parameters: number;
      dtype: string;
      layers?: number;
      hidden?: number;
    } | null;
  };
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
    checkpointId: typeof ev["checkpointId"] === "string" ? ev["checkpointId"] : null,
    environments: (ev["environments"] as Record<string, EnvScore> | undefined) ?? null,
  };
}

export async function trainingOverview(projectIdOrSlug: string): Promise<TrainingOverview> {
  const p = await findProjectByRef(db(), projectIdOrSlug, {
    id: true,
    slug: true,
    name: true,
    settings: true,
    aiCountsTowardConsensus: true,
    overlap: true,
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
    model: {
      basePath: settings?.model.basePath ?? null,
      // the bootstrap checkpoint records the model it started from
      info: ((
        checkpoints.find((c) => (c.metrics as Record<string, unknown>)["model"])?.metrics as
          Record<string, unknown> | undefined
      )?.["model"] ?? null) as TrainingOverview["model"]["info"],
    },
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

export interface RolloutView {
  id: string;
  promptId: string;
  prompt: string;
  completion: string;
  step: number | null;
  env: string | null;
  reward: number | null;
  advantage: number | null;
  correct: boolean | null;
  truncated: boolean | null;
  rewards: Record<string, number>;
}

/** The completions a GRPO round learned from (stored by its policy stage), page by page. */
export async function roundRollouts(
  roundId: string,
  o: { skip?: number; take?: number } = {},
): Promise<{ total: number; rows: RolloutView[] }> {
  const where = {
    AND: [
      { metadata: { path: ["roundId"], equals: roundId } },
      { metadata: { path: ["source"], equals: "grpo" } },
    ],
  };
  const [total, rows] = await Promise.all([
    db().completion.count({ where }),
    db().completion.findMany({
      where,
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      skip: o.skip ?? 0,
      take: Math.min(200, o.take ?? 50),
      select: {
        id: true,
        promptId: true,
        text: true,
        metadata: true,
        prompt: { select: { text: true, messages: true } },
      },
    }),
  ]);
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : null);
  return {
    total,
    rows: rows.map((r) => {
      const g = ((r.metadata ?? {}) as { grpo?: Record<string, unknown> }).grpo ?? {};
      const msgs = Array.isArray(r.prompt.messages) ? (r.prompt.messages as { content?: unknown }[]) : [];
      return {
        id: r.id,
        promptId: r.promptId,
        prompt: r.prompt.text ?? msgs.map((m) => String(m.content ?? "")).join("\n"),
        completion: r.text,
        step: num(g["step"]),
        env: typeof g["env"] === "string" ? g["env"] : null,
        reward: num(g["reward"]),
        advantage: num(g["advantage"]),
        correct: typeof g["correct"] === "boolean" ? g["correct"] : null,
        truncated: typeof g["truncated"] === "boolean" ? g["truncated"] : null,
        rewards: (g["rewards"] as Record<string, number> | undefined) ?? {},
      };
    }),
  };
}
