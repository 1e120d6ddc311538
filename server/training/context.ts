// What every stage of a round works with: the round row and its frozen settings, the checkpoint
// folders, metric and progress writers that keep the lease alive, cancellation, and lookups of
// the project's checkpoints. Stages are functions of a RoundContext (stages/*.ts).
import path from "node:path";
import { promises as fs } from "node:fs";
import { Prisma, type Checkpoint, type CheckpointKind, type TrainingRound } from "@prisma/client";
import { db } from "@/server/db/client";
import { renewLease } from "./lease";
import { roundSettings, type RoundResult, type RoundStage } from "./rounds";
import type { TrainingSettings } from "./settings";

/** Thrown (and caught by the engine) when the round must stop: cancelled, lease lost, shutdown. */
export class RoundStopped extends Error {
  constructor(readonly reason: "cancelled" | "lost" | "shutdown") {
    super(`round stopped: ${reason}`);
    this.name = "RoundStopped";
  }
}

export interface ProjectInfo {
  id: string;
  slug: string;
  labelSchema: unknown;
  overlap: number;
  aiCountsTowardConsensus: boolean;
}

export interface ContextOptions {
  owner: string;
  leaseMs: number;
  checkpointRoot: string;
  backend: string;
  signal?: AbortSignal;
  log: (m: string) => void;
  /** Test hook: called after each training step and each generated prompt. */
  onStep?: (stage: RoundStage, step: number) => void | Promise<void>;
}

export class RoundContext {
  round: TrainingRound;
  readonly settings: TrainingSettings;
  readonly project: ProjectInfo;
  readonly opts: ContextOptions;
  private stopReason: RoundStopped["reason"] | null = null;
  private lastProgressAt = 0;
  private pendingMetrics: Prisma.MetricPointCreateManyInput[] = [];

  constructor(round: TrainingRound, project: ProjectInfo, opts: ContextOptions) {
    this.round = round;
    this.settings = roundSettings(round);
    this.project = project;
    this.opts = opts;
  }

  get id(): string {
    return this.round.id;
  }
  get result(): RoundResult {
    return (this.round.result ?? {}) as RoundResult;
  }
  log(m: string): void {
    this.opts.log(`[round ${this.project.slug}#${this.round.number}] ${m}`);
  }

  // -- folders -------------------------------------------------------------------------------

  /** Folder of this round in the checkpoint store, relative to its root. */
  get roundRel(): string {
    return path.join(this.project.id, `round-${String(this.round.number).padStart(4, "0")}`);
  }
  abs(rel: string): string {
    return path.isAbsolute(rel) ? rel : path.join(this.opts.checkpointRoot, rel);
  }
  finalRel(kind: CheckpointKind): string {
    return path.join(this.roundRel, kind);
  }
  workDir(stage: string): string {
    return this.abs(path.join(this.roundRel, "work", stage));
  }
  /** The resumable training checkpoint of a stage, if a previous attempt wrote one. */
  async resumeDir(stage: string): Promise<string | undefined> {
    const dir = this.workDir(stage);
    const ok = await fs.stat(path.join(dir, "trainer_state.json")).then(
      () => true,
      () => false,
    );
    return ok ? dir : undefined;
  }

  // -- stop, lease, progress -----------------------------------------------------------------

  requestStop(reason: RoundStopped["reason"]): void {
    this.stopReason ??= reason;
  }
  get stopped(): RoundStopped["reason"] | null {
    if (!this.stopReason && this.opts.signal?.aborted) this.stopReason = "shutdown";
    return this.stopReason;
  }
  /** Throws RoundStopped when the round must stop. */
  checkStop(): void {
    const r = this.stopped;
    if (r) throw new RoundStopped(r);
  }
  /** For the trainer loops' shouldStop hook. */
  shouldStop = (): boolean => this.stopped !== null;

  /** Renews the lease and reads the status (cancelled / lost lease stop the round). */
  async heartbeat(): Promise<void> {
    const status = await renewLease(this.id, this.opts.owner, this.opts.leaseMs);
    if (status === null) this.requestStop("lost");
    else if (status === "cancelled") this.requestStop("cancelled");
  }

  /**
   * Progress for the UI (stage, step, tokens/s, ETA), written at most once a second, together
   * with the lease renewal.
   */
  async progress(
    p: {
      stage: RoundStage;
      step?: number;
      totalSteps?: number;
      tokensPerSecond?: number;
      secondsPerStep?: number;
      message?: string;
    },
    force = false,
  ): Promise<void> {
    const now = Date.now();
    await this.opts.onStep?.(p.stage, p.step ?? 0);
    if (!force && now - this.lastProgressAt < 1000) return;
    this.lastProgressAt = now;
    const eta =
      p.secondsPerStep !== undefined && p.totalSteps !== undefined && p.step !== undefined
        ? Math.max(0, (p.totalSteps - p.step) * p.secondsPerStep)
        : undefined;
    const progress = {
      stage: p.stage,
      ...(p.step !== undefined ? { step: p.step } : {}),
      ...(p.totalSteps !== undefined ? { totalSteps: p.totalSteps } : {}),
      ...(p.tokensPerSecond !== undefined && Number.isFinite(p.tokensPerSecond)
        ? { tokensPerSecond: Math.round(p.tokensPerSecond) }
        : {}),
      ...(eta !== undefined ? { etaSeconds: Math.round(eta) } : {}),
      ...(p.message ? { message: p.message } : {}),
      updatedAt: new Date(now).toISOString(),
    };
    await this.flushMetrics();
    const rows = await db().$queryRaw<Array<{ status: string }>>`
      UPDATE "TrainingRound" SET progress = ${JSON.stringify(progress)}::jsonb,
        "leaseUntil" = now() + (${this.opts.leaseMs}::int * interval '1 millisecond')
      WHERE id = ${this.id} AND "leaseOwner" = ${this.opts.owner}
      RETURNING status`;
    if (!rows[0]) this.requestStop("lost");
    else if (rows[0].status === "cancelled") this.requestStop("cancelled");
  }

  // -- metrics -------------------------------------------------------------------------------

  /** Queues metric points (TRL names); flushed with the progress and at stage ends. */
  metric(stage: string, step: number, values: Record<string, number | undefined>): void {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined || !Number.isFinite(value)) continue;
      this.pendingMetrics.push({ roundId: this.id, stage, step, name, value });
    }
  }
  /** Writes queued metric points; a point written before (a resumed step) is skipped, never doubled. */
  async flushMetrics(): Promise<void> {
    if (!this.pendingMetrics.length) return;
    const batch = this.pendingMetrics;
    this.pendingMetrics = [];
    for (let i = 0; i < batch.length; i += 2000)
      await db().metricPoint.createMany({ data: batch.slice(i, i + 2000), skipDuplicates: true });
  }

  /** Saves part of a stage's state on the round row (merged into result), e.g. a plan to resume by. */
  async saveResult(patch: Record<string, unknown>): Promise<void> {
    const merged = { ...(this.round.result as Record<string, unknown>), ...patch };
    const r = await db().trainingRound.updateMany({
      where: { id: this.id, leaseOwner: this.opts.owner },
      data: { result: merged as Prisma.InputJsonValue },
    });
    if (r.count === 0) {
      this.requestStop("lost");
      this.checkStop();
    }
    this.round = { ...this.round, result: merged as Prisma.JsonValue };
  }

  // -- checkpoints ---------------------------------------------------------------------------

  /** This round's checkpoint of a kind, if written. */
  async ownCheckpoint(kind: CheckpointKind): Promise<Checkpoint | null> {
    return db().checkpoint.findUnique({ where: { roundId_kind: { roundId: this.id, kind } } });
  }

  /** Registers a checkpoint of this round: one row per (round, kind), whatever happens. */
  async registerCheckpoint(
    kind: CheckpointKind,
    data: Omit<Prisma.CheckpointUncheckedCreateInput, "roundId" | "kind" | "projectId" | "name" | "path">,
  ): Promise<Checkpoint> {
    return db().checkpoint.upsert({
      where: { roundId_kind: { roundId: this.id, kind } },
      update: {},
      create: {
        ...data,
        roundId: this.id,
        projectId: this.project.id,
        kind,
        name: `${this.project.slug}-r${this.round.number}-${kind}`,
        path: this.finalRel(kind),
        backend: this.opts.backend,
      },
    });
  }

  /** The project's current policy: the newest promoted policy, else its SFT checkpoint. */
  async currentPolicy(): Promise<Checkpoint | null> {
    return db().checkpoint.findFirst({
      where: { projectId: this.project.id, kind: { in: ["policy", "sft"] }, promoted: true },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    });
  }
  async sftCheckpoint(): Promise<Checkpoint | null> {
    return db().checkpoint.findFirst({
      where: { projectId: this.project.id, kind: "sft" },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    });
  }
  /** The newest reward model of the project written by another round (the "previous" one). */
  async previousReward(): Promise<Checkpoint | null> {
    return db().checkpoint.findFirst({
      where: { projectId: this.project.id, kind: "reward", NOT: { roundId: this.id } },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    });
  }
  async checkpointById(id: string): Promise<Checkpoint> {
    return db().checkpoint.findUniqueOrThrow({ where: { id } });
  }
}
