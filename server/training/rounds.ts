// Training rounds as rows: requesting one (the singleton per project), reading them for the UI,
// the CLI and the REST API, retrying a failed one and cancelling. The work itself is engine.ts.
//
// Singleton: requestRound locks the project row and returns the queued or running round when
// there is one, so two triggers arriving together (a cron tick and a click, two clicks, two
// trainers' ticks) make one round. A partial unique index ("one active round per project",
// migration 20261129200000) backs this up at the database level.
// No "server-only" import and no trainer import: the web app, the CLI and the trainer read this.
import { Prisma, type $Enums, type TrainingRound } from "@prisma/client";
import { isUniqueViolation } from "@/server/db/sql";
import { z } from "zod";
import { db } from "@/server/db/client";
import { DomainError } from "@/server/errors";
import { stageStates, type StageState } from "./outcome";
import { mergeSettings, parseTrainingSettings, trainingSettingsOf, type TrainingSettings } from "./settings";

export const ROUND_STAGES = [
  "bootstrap",
  "snapshot",
  "reward",
  "policy",
  "evaluate",
  "gate",
  "generate",
  "done",
] as const;
export type RoundStage = (typeof ROUND_STAGES)[number];
/** Compile-time check: ROUND_STAGES equals the database enum TrainingRound.stage. */
export type StagesAgreeWithSchema = [RoundStage] extends [$Enums.RoundStage]
  ? [$Enums.RoundStage] extends [RoundStage]
    ? true
    : never
  : never;
const stagesAgree: StagesAgreeWithSchema = true;
void stagesAgree;
import { ROUND_STATUSES, type RoundStatus } from "@/server/enums";
export { ROUND_STATUSES, type RoundStatus };
export const ACTIVE_STATUSES: readonly RoundStatus[] = ["queued", "running"];
export const TRIGGERS = ["cron", "condition", "manual"] as const;
export type RoundTrigger = (typeof TRIGGERS)[number];

/** TrainingRound.progress */
export const RoundProgress = z.object({
  stage: z.string().optional(),
  step: z.number().optional(),
  totalSteps: z.number().optional(),
  tokensPerSecond: z.number().optional(),
  etaSeconds: z.number().optional(),
  message: z.string().optional(),
  updatedAt: z.string().optional(),
});
export type RoundProgress = z.infer<typeof RoundProgress>;

/** TrainingRound.result: what each stage produced (filled in as stages finish). */
export const RoundResult = z
  .object({
    bootstrap: z.record(z.string(), z.unknown()).optional(),
    snapshot: z
      .object({
        id: z.string(),
        hash: z.string(),
        pairCount: z.number(),
        train: z.number(),
        validation: z.number(),
        newPairs: z.number().optional(),
      })
      .optional(),
    reward: z.record(z.string(), z.unknown()).optional(),
    policy: z.record(z.string(), z.unknown()).optional(),
    evaluate: z.record(z.string(), z.unknown()).optional(),
    gate: z
      .object({
        passed: z.boolean(),
        reason: z.string(),
        checkpointId: z.string().nullable(),
        /** promoted | rejected | bootstrap (this round's SFT is the first policy) | nothing_to_promote */
        decision: z.enum(["promoted", "rejected", "bootstrap", "nothing_to_promote"]).optional(),
      })
      .optional(),
    generate: z.record(z.string(), z.unknown()).optional(),
    /** Wall seconds per stage (the last attempt of each). */
    seconds: z.record(z.string(), z.number()).optional(),
    /** How the round ended (outcome.ts): succeeded, or skipped with the reason. */
    outcome: z.object({ status: z.enum(["succeeded", "skipped"]), reason: z.string().nullable() }).optional(),
  })
  .passthrough();
export type RoundResult = z.infer<typeof RoundResult>;

export interface RoundView {
  id: string;
  projectId: string;
  number: number;
  status: RoundStatus;
  stage: RoundStage;
  trigger: RoundTrigger;
  snapshotId: string | null;
  progress: RoundProgress;
  result: RoundResult;
  /** Each stage's state and, when skipped or failed, why (outcome.ts). */
  stages: StageState[];
  error: string | null;
  backend: string | null;
  attempts: number;
  leaseOwner: string | null;
  leaseUntil: Date | null;
  requestedById: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export function toRoundView(r: TrainingRound): RoundView {
  const progress = RoundProgress.safeParse(r.progress);
  const result = RoundResult.safeParse(r.result);
  return {
    id: r.id,
    projectId: r.projectId,
    number: r.number,
    status: r.status,
    stage: r.stage,
    trigger: r.trigger as RoundTrigger,
    snapshotId: r.snapshotId,
    progress: progress.success ? progress.data : {},
    result: result.success ? result.data : {},
    stages: stageStates({
      status: r.status,
      stage: r.stage,
      result: result.success ? result.data : {},
      error: r.error,
    }),
    error: r.error,
    backend: r.backend,
    attempts: r.attempts,
    leaseOwner: r.leaseOwner,
    leaseUntil: r.leaseUntil,
    requestedById: r.requestedById,
    createdAt: r.createdAt,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
  };
}

/** The settings a round trains with (frozen in TrainingRound.config). */
export function roundSettings(r: Pick<TrainingRound, "config">): TrainingSettings {
  return parseTrainingSettings(r.config);
}

export interface RequestRoundInput {
  projectId: string;
  trigger: RoundTrigger;
  requestedById?: string | null;
  /** Per-round overrides merged over the project's training settings (e.g. the CLI's --steps). */
  overrides?: Record<string, unknown>;
}

export interface RequestRoundResult {
  round: RoundView;
  /** false: a round was already queued or running; that one is returned and nothing was added. */
  created: boolean;
}

/**
 * Asks for a round on a project. Returns the active round instead when one is queued or running
 * (one round per project at a time). The caller enqueues the job (jobs.ts: requestAndEnqueue).
 */
export async function requestRound(input: RequestRoundInput): Promise<RequestRoundResult> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await db().$transaction(
        async (tx) => {
          const rows = await tx.$queryRaw<Array<{ id: string; settings: unknown; archived: boolean }>>`
            SELECT id, settings, archived FROM "Project" WHERE id = ${input.projectId} FOR UPDATE`;
          const project = rows[0];
          if (!project) throw new DomainError("not_found", `No project ${input.projectId}.`);
          if (project.archived)
            throw new DomainError("conflict", "This project is archived; unarchive it before training.");
          const active = await tx.trainingRound.findFirst({
            where: { projectId: input.projectId, status: { in: [...ACTIVE_STATUSES] } },
            orderBy: { number: "desc" },
          });
          if (active) return { round: toRoundView(active), created: false };
          const base = ((project.settings ?? {}) as { training?: unknown }).training ?? {};
          const settings = parseTrainingSettings(
            input.overrides ? mergeSettings(base, input.overrides) : base,
          );
          const last = await tx.trainingRound.aggregate({
            where: { projectId: input.projectId },
            _max: { number: true },
          });
          const round = await tx.trainingRound.create({
            data: {
              projectId: input.projectId,
              number: (last._max.number ?? 0) + 1,
              trigger: input.trigger,
              status: "queued",
              stage: "bootstrap",
              requestedById: input.requestedById ?? null,
              config: settings as unknown as Prisma.InputJsonValue,
              progress: { message: "waiting for a trainer" },
            },
          });
          return { round: toRoundView(round), created: true };
        },
        { timeout: 30_000, maxWait: 30_000 },
      );
    } catch (e) {
      // Another transaction created the round between our check and our insert (the partial unique
      // index, or the (projectId, number) key): read it back.
      if (isUniqueViolation(e) && attempt < 3) {
        const active = await db().trainingRound.findFirst({
          where: { projectId: input.projectId, status: { in: [...ACTIVE_STATUSES] } },
          orderBy: { number: "desc" },
        });
        if (active) return { round: toRoundView(active), created: false };
        continue;
      }
      throw e;
    }
  }
}

export async function getRoundOrThrow(id: string): Promise<RoundView> {
  const r = await db().trainingRound.findUnique({ where: { id } });
  if (!r) throw new DomainError("not_found", `No training round ${id}.`);
  return toRoundView(r);
}

export async function listRounds(projectId: string, opts: { take?: number } = {}): Promise<RoundView[]> {
  const rows = await db().trainingRound.findMany({
    where: { projectId },
    orderBy: { number: "desc" },
    take: opts.take ?? 100,
  });
  return rows.map(toRoundView);
}

/** A failed (or cancelled) round goes back to the queue and resumes from the stage it stopped in. */
export async function markRoundForRetry(id: string): Promise<RoundView> {
  const r = await getRoundOrThrow(id);
  if (r.status !== "failed" && r.status !== "cancelled") {
    throw new DomainError(
      "conflict",
      `Round ${r.number} is ${r.status}; only a failed or cancelled round can be retried.`,
    );
  }
  try {
    const n = await db().trainingRound.updateMany({
      where: { id, status: { in: ["failed", "cancelled"] } },
      data: {
        status: "queued",
        error: null,
        finishedAt: null,
        leaseOwner: null,
        leaseUntil: null,
        progress: { message: `retry: resumes at ${r.stage}` },
      },
    });
    if (n.count === 0)
      throw new DomainError("conflict", `Round ${r.number} changed meanwhile; reload and try again.`);
  } catch (e) {
    if (isUniqueViolation(e))
      throw new DomainError(
        "conflict",
        "Another round of this project is queued or running; retry this one when it has finished.",
      );
    throw e;
  }
  return getRoundOrThrow(id);
}

/** Stops a queued or running round; the trainer notices at its next step. Checkpoints written stay. */
export async function cancelRound(id: string): Promise<RoundView> {
  const r = await getRoundOrThrow(id);
  if (!ACTIVE_STATUSES.includes(r.status))
    throw new DomainError("conflict", `Round ${r.number} is already ${r.status}.`);
  await db().trainingRound.updateMany({
    where: { id, status: { in: [...ACTIVE_STATUSES] } },
    data: { status: "cancelled", finishedAt: new Date() },
  });
  return getRoundOrThrow(id);
}

// ---------------------------------------------------------------------------------------------
// Reads for the admin UI

export interface MetricSeries {
  stage: string;
  name: string;
  points: Array<{ step: number; value: number }>;
}

/** Every metric of a round, grouped by (stage, name), steps ascending. */
export async function roundMetrics(roundId: string): Promise<MetricSeries[]> {
  const rows = await db().metricPoint.findMany({
    where: { roundId },
    orderBy: [{ stage: "asc" }, { name: "asc" }, { step: "asc" }],
    select: { stage: true, name: true, step: true, value: true },
  });
  const out = new Map<string, MetricSeries>();
  for (const r of rows) {
    const k = `${r.stage}\u0000${r.name}`;
    let s = out.get(k);
    if (!s) out.set(k, (s = { stage: r.stage, name: r.name, points: [] }));
    s.points.push({ step: r.step, value: r.value });
  }
  return [...out.values()];
}

export interface CheckpointView {
  id: string;
  projectId: string | null;
  roundId: string | null;
  roundNumber: number | null;
  kind: "sft" | "policy" | "reward";
  name: string;
  path: string;
  parentId: string | null;
  snapshotId: string | null;
  promoted: boolean;
  gateReason: string | null;
  metrics: Record<string, unknown>;
  backend: string | null;
  createdAt: Date;
}

export async function listCheckpoints(
  projectId: string,
  opts: { kind?: "sft" | "policy" | "reward" } = {},
): Promise<CheckpointView[]> {
  const rows = await db().checkpoint.findMany({
    where: { projectId, ...(opts.kind ? { kind: opts.kind } : {}) },
    include: { round: { select: { number: true } } },
    orderBy: [{ createdAt: "asc" }, { id: "asc" }],
  });
  return rows.map((c) => ({
    id: c.id,
    projectId: c.projectId,
    roundId: c.roundId,
    roundNumber: c.round?.number ?? null,
    kind: c.kind,
    name: c.name,
    path: c.path,
    parentId: c.parentId,
    snapshotId: c.snapshotId,
    promoted: c.promoted,
    gateReason: c.gateReason,
    metrics: (c.metrics ?? {}) as Record<string, unknown>,
    backend: c.backend,
    createdAt: c.createdAt,
  }));
}

export interface Provenance {
  checkpoint: CheckpointView;
  snapshot: { id: string; hash: string; pairCount: number; createdAt: Date } | null;
  /** Judgments behind the snapshot's pairs, by source and by who (user or judge). */
  judgments: Array<{ source: string; by: string; count: number }>;
}

/** Traceability: a checkpoint -> its snapshot -> the pairs -> the judgments and who made them. */
export async function checkpointProvenance(checkpointId: string): Promise<Provenance> {
  const c = await db().checkpoint.findUnique({
    where: { id: checkpointId },
    include: { round: { select: { number: true } } },
  });
  if (!c) throw new DomainError("not_found", `No checkpoint ${checkpointId}.`);
  const view = (await listCheckpoints(c.projectId ?? "", {})).find((x) => x.id === c.id) as CheckpointView;
  if (!c.snapshotId) return { checkpoint: view, snapshot: null, judgments: [] };
  const s = await db().datasetSnapshot.findUnique({
    where: { id: c.snapshotId },
    select: { id: true, hash: true, pairCount: true, createdAt: true },
  });
  const rows = await db().$queryRaw<Array<{ source: string; by: string; count: number }>>`
    SELECT j.source::text AS source,
           COALESCE(u.email, jc.name, 'import') AS by,
           count(DISTINCT j.id)::int AS count
    FROM "SnapshotPair" sp
    JOIN "PreferencePair" pp ON pp.id = sp."pairId"
    JOIN "Judgment" j ON j.id = ANY(pp."judgmentIds")
    LEFT JOIN "User" u ON u.id = j."userId"
    LEFT JOIN "JudgeConfig" jc ON jc.id = j."judgeConfigId"
    WHERE sp."snapshotId" = ${c.snapshotId}
    GROUP BY 1, 2 ORDER BY 3 DESC, 2`;
  return { checkpoint: view, snapshot: s, judgments: rows };
}

/** Project training settings as stored (parsed, defaults filled). */
export async function getTrainingSettings(projectId: string): Promise<TrainingSettings> {
  const p = await db().project.findUnique({ where: { id: projectId }, select: { settings: true } });
  if (!p) throw new DomainError("not_found", `No project ${projectId}.`);
  return trainingSettingsOf(p.settings);
}

/** Merges a patch into Project.settings.training (validated first); other settings are untouched. */
export async function updateTrainingSettings(
  projectId: string,
  patch: Record<string, unknown>,
): Promise<TrainingSettings> {
  return db().$transaction(async (tx) => {
    const rows = await tx.$queryRaw<
      Array<{ settings: unknown }>
    >`SELECT settings FROM "Project" WHERE id = ${projectId} FOR UPDATE`;
    if (!rows[0]) throw new DomainError("not_found", `No project ${projectId}.`);
    const all = (rows[0].settings ?? {}) as Record<string, unknown>;
    const merged = mergeSettings(all["training"] ?? {}, patch);
    parseTrainingSettings(merged); // throws bad_request naming the field
    await tx.project.update({
      where: { id: projectId },
      data: { settings: { ...all, training: merged } as Prisma.InputJsonValue },
    });
    return parseTrainingSettings(merged);
  });
}
