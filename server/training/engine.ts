// The round stage machine: bootstrap → snapshot → reward → policy → evaluate → gate → generate →
// done. The round row keeps where it is (stage), what each stage produced (result) and who works
// on it (lease), so a round continues wherever a trainer stopped: a killed trainer's round is
// claimed again (lease.ts) and re-enters its stage, which resumes from that stage's last
// training checkpoint and never registers a checkpoint, metric point or comparison twice.
import { Prisma } from "@prisma/client";
import { activeBackend, selectBackend } from "@/trainer";
import { db } from "@/server/db/client";
import { env } from "@/server/env";
import { RoundContext, RoundStopped, type ContextOptions } from "./context";
import { claimRound, newTrainerId, releaseLease } from "./lease";
import { ROUND_STAGES, type RoundResult, type RoundStage } from "./rounds";
import { roundOutcome } from "./outcome";
import { evaluateStage, gateStage } from "./stages/evaluate";
import { generateStage } from "./stages/generate";
import { snapshotStage } from "./stages/snapshot";
import { bootstrapStage, policyStage, removeWorkDirs, rewardStage } from "./stages/train";

type StageFn = (ctx: RoundContext) => Promise<Record<string, unknown>>;

const STAGES: Record<Exclude<RoundStage, "done">, StageFn> = {
  bootstrap: bootstrapStage,
  snapshot: snapshotStage,
  reward: rewardStage,
  policy: policyStage,
  evaluate: evaluateStage,
  gate: gateStage,
  generate: generateStage,
};

export interface ExecuteRoundOptions {
  owner?: string;
  /** How long a lease lasts without renewal (default 60 s). */
  leaseMs?: number;
  /** Process shutdown: the round stops at its next step and stays resumable. */
  signal?: AbortSignal;
  log?: (m: string) => void;
  onStep?: ContextOptions["onStep"];
}

export type ExecuteRoundResult =
  "succeeded" | "skipped" | "failed" | "cancelled" | "stopped" | "busy" | "finished" | "not_found";

/** Runs (or resumes) a round to its end. Returns how it ended for this trainer. */
export async function executeRound(
  roundId: string,
  opts: ExecuteRoundOptions = {},
): Promise<ExecuteRoundResult> {
  const owner = opts.owner ?? newTrainerId();
  const leaseMs = opts.leaseMs ?? 60_000;
  const log = opts.log ?? (() => {});
  const claimed = await claimRound(roundId, owner, leaseMs);
  if (!claimed) {
    const r = await db().trainingRound.findUnique({ where: { id: roundId }, select: { status: true } });
    if (!r) return "not_found";
    return r.status === "queued" || r.status === "running" ? "busy" : "finished";
  }
  const row = await db().trainingRound.findUniqueOrThrow({ where: { id: roundId } });
  const project = await db().project.findUniqueOrThrow({
    where: { id: row.projectId },
    select: { id: true, slug: true, labelSchema: true, overlap: true, aiCountsTowardConsensus: true },
  });
  const backend = activeBackend() ?? (await selectBackend({ force: env().PAIRWISE_TF_BACKEND, log }));
  const ctx = new RoundContext(row, project, {
    owner,
    leaseMs,
    checkpointRoot: env().checkpointDir, // PAIRWISE_CHECKPOINT_DIR: every process resolves Checkpoint.path against it
    backend: backend.name,
    signal: opts.signal,
    log,
    onStep: opts.onStep,
  });
  ctx.log(
    claimed.resumed
      ? `resuming at stage ${row.stage} (attempt ${row.attempts})`
      : `starting (${row.trigger})`,
  );
  await db().trainingRound.update({ where: { id: roundId }, data: { backend: backend.name } });

  // Keep the lease while stages work between progress reports (loading, saving, labeling).
  let beating = false;
  const beat = setInterval(
    () => {
      if (beating) return;
      beating = true;
      ctx
        .heartbeat()
        .catch((e: Error) => log(`lease renewal failed: ${e.message}`))
        .finally(() => (beating = false));
    },
    Math.max(250, Math.floor(leaseMs / 4)),
  );
  beat.unref?.();

  try {
    for (;;) {
      ctx.checkStop();
      const stage: RoundStage = ctx.round.stage;
      if (stage === "done") break;
      const fn = STAGES[stage];
      if (!fn) throw new Error(`unknown stage "${stage}"`);
      await ctx.progress({ stage, message: `stage ${stage}` }, true);
      const t0 = performance.now();
      const out = await fn(ctx);
      ctx.checkStop();
      const seconds = {
        ...(ctx.result.seconds ?? {}),
        [stage]: Math.round((performance.now() - t0) / 100) / 10,
      };
      const next = ROUND_STAGES[ROUND_STAGES.indexOf(stage) + 1] as RoundStage;
      const result = { ...(ctx.round.result as Record<string, unknown>), [stage]: out, seconds };
      const u = await db().trainingRound.updateMany({
        where: { id: roundId, leaseOwner: owner, status: "running" },
        data: { stage: next, result: result as Prisma.InputJsonValue },
      });
      if (u.count === 0) {
        const now = await db().trainingRound.findUnique({ where: { id: roundId }, select: { status: true } });
        ctx.requestStop(now?.status === "cancelled" ? "cancelled" : "lost");
        ctx.checkStop();
      }
      ctx.round = { ...ctx.round, stage: next, result: result as Prisma.JsonValue };
      ctx.log(`stage ${stage} done in ${seconds[stage]} s`);
    }
    await removeWorkDirs(ctx).catch(() => undefined);
    // "skipped" when neither a reward model nor a policy was trained: never "succeeded" then.
    const outcome = roundOutcome(ctx.round.result as RoundResult);
    await db().trainingRound.updateMany({
      where: { id: roundId, leaseOwner: owner },
      data: {
        status: outcome.status,
        result: { ...(ctx.round.result as object), outcome } as unknown as Prisma.InputJsonValue,
        finishedAt: new Date(),
        progress: {
          stage: "done",
          message: outcome.reason ?? "done",
          updatedAt: new Date().toISOString(),
        },
      },
    });
    ctx.log(outcome.reason ? `${outcome.status}: ${outcome.reason}` : outcome.status);
    return outcome.status;
  } catch (e) {
    await ctx.flushMetrics().catch(() => undefined);
    if (e instanceof RoundStopped) {
      ctx.log(`stopped (${e.reason}) at stage ${ctx.round.stage}`);
      if (e.reason === "cancelled") return "cancelled";
      return "stopped";
    }
    const message = e instanceof Error ? e.message : String(e);
    log(
      `[round ${project.slug}#${row.number}] failed at stage ${ctx.round.stage}: ${e instanceof Error ? (e.stack ?? message) : message}`,
    );
    await db().trainingRound.updateMany({
      where: { id: roundId, leaseOwner: owner },
      data: {
        status: "failed",
        error: `${ctx.round.stage}: ${message}`.slice(0, 4000),
        finishedAt: new Date(),
      },
    });
    return "failed";
  } finally {
    clearInterval(beat);
    await releaseLease(roundId, owner).catch(() => undefined);
  }
}
