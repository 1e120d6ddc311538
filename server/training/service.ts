// The trainer service: what the trainer process (server/processes/trainer.ts) runs, inside
// `npm start` or alone on another machine pointed at the same database. It takes training-round
// jobs one at a time, ticks every minute (orphaned rounds, cron and condition triggers) and, at
// start, picks up rounds whose trainer died. Stopping it stops the round in flight at its next
// step; the round keeps its stage and checkpoints and the next trainer resumes it.
import type PgBoss from "pg-boss";
import { db } from "@/server/db/client";
import { executeRound } from "./engine";
import { ensureTrainingQueues, ROUND_QUEUE, TICK_QUEUE, trainingTick, type RoundJob } from "./jobs";
import { newTrainerId } from "./lease";
import { PLAYGROUND_QUEUE, type PlaygroundInput } from "./playground-queue";
import { ensureQueue } from "@/server/jobs/boss";

export interface TrainerServiceOptions {
  leaseMs?: number;
  /** Local tick when no scheduled tick arrived for this long (the worker's clock may be elsewhere or down). */
  fallbackTickMs?: number;
  log?: (m: string) => void;
}

export async function startTrainerService(
  boss: PgBoss,
  backendName: string,
  opts: TrainerServiceOptions = {},
): Promise<() => Promise<void>> {
  const log = opts.log ?? ((m: string) => console.log(`[trainer] ${m}`));
  const owner = newTrainerId();
  const shutdown = new AbortController();
  let inFlight: Promise<unknown> | null = null;
  let lastTick = 0;
  let ticking: Promise<unknown> | null = null;

  const tick = (projectId?: string) => {
    if (ticking && !projectId) return ticking;
    lastTick = Date.now();
    const p = trainingTick(boss, owner, { projectId, log })
      .then((r) => {
        if (r.requeued || r.started)
          log(`tick: ${r.requeued} round(s) re-queued, ${r.started} started by triggers`);
        return r;
      })
      .catch((e: Error) => log(`tick failed: ${e.message}`))
      .finally(() => {
        if (ticking === p) ticking = null;
      });
    if (!projectId) ticking = p;
    return p;
  };

  await ensureTrainingQueues(boss);
  await boss.work<RoundJob>(ROUND_QUEUE, { batchSize: 1, pollingIntervalSeconds: 2 }, async ([job]) => {
    if (!job || shutdown.signal.aborted) return { result: "stopped" };
    const run = executeRound(job.data.roundId, {
      owner,
      signal: shutdown.signal,
      leaseMs: opts.leaseMs,
      log,
    });
    inFlight = run;
    try {
      const result = await run;
      if (result === "succeeded" || result === "skipped") {
        // Close the loop: labels that arrived during the round may already call for the next one.
        const row = await db().trainingRound.findUnique({
          where: { id: job.data.roundId },
          select: { projectId: true },
        });
        if (row) await tick(row.projectId);
      }
      return { result };
    } finally {
      inFlight = null;
    }
  });
  await boss.work(TICK_QUEUE, { batchSize: 1, pollingIntervalSeconds: 10 }, async () => tick());
  // The admin playground: generation from two checkpoints, between training steps of a round.
  await ensureQueue(boss, PLAYGROUND_QUEUE, { retryLimit: 0, expireInSeconds: 120 });
  await boss.work<PlaygroundInput>(
    PLAYGROUND_QUEUE,
    { batchSize: 1, pollingIntervalSeconds: 1 },
    async ([job]) => {
      if (!job) return null;
      const { runPlayground } = await import("./playground");
      return runPlayground(job.data);
    },
  );
  await boss.schedule(TICK_QUEUE, "* * * * *");
  const fallbackMs = opts.fallbackTickMs ?? 90_000;
  const timer = setInterval(
    () => {
      if (Date.now() - lastTick > fallbackMs) void tick();
    },
    Math.min(30_000, fallbackMs),
  );
  timer.unref?.();
  await tick(); // rounds left by a trainer that died, and triggers due now
  log(`training service ready (${backendName}; trainer ${owner})`);

  return async () => {
    clearInterval(timer);
    shutdown.abort();
    await Promise.allSettled([
      boss.offWork(ROUND_QUEUE),
      boss.offWork(TICK_QUEUE),
      boss.offWork(PLAYGROUND_QUEUE),
    ]);
    if (inFlight) await Promise.race([inFlight, new Promise((r) => setTimeout(r, 20_000))]);
    if (ticking) await ticking;
  };
}
