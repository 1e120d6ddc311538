// pg-boss jobs of the AI judges. The worker process calls registerJobs(boss).
//  - "judges.run" {runId}: executes a run for up to RUN_SLICE_MS, then re-enqueues itself, so a
//    long run never outlives a job's expiry and several runs take turns;
//  - "judges.sweep" (every minute, and once at start): re-enqueues runs that are queued or
//    running but held by no live runner (a crashed worker's lease ran out, or a job was lost).
import type PgBoss from "pg-boss";
import { db } from "../db/client";
import { ensureQueue, getBoss } from "../jobs/boss";
import { executeJudgeRun } from "./runner";
import { createJudgeRun, markRunResumed, type CreateRunInput, type JudgeRunView } from "./runs";

export const JUDGE_RUN_QUEUE = "judges.run";
export const JUDGE_SWEEP_QUEUE = "judges.sweep";
const RUN_SLICE_MS = 2 * 60_000;

export interface JudgeRunJob {
  runId: string;
}

const shutdown = new AbortController();

/** Queues a slice of a run. `throttle` keeps at most one job per run per minute (the sweep). */
export async function enqueueJudgeRun(runId: string, opts: { boss?: PgBoss; throttle?: boolean } = {}): Promise<void> {
  const boss = opts.boss ?? (await getBoss());
  await ensureQueue(boss, JUDGE_RUN_QUEUE, { retryLimit: 3, retryDelay: 5, expireInSeconds: 30 * 60 });
  await boss.send(JUDGE_RUN_QUEUE, { runId } satisfies JudgeRunJob, opts.throttle ? { singletonKey: runId, singletonSeconds: 60 } : {});
}

/** Creates a run and queues it. */
export async function startJudgeRun(input: CreateRunInput): Promise<JudgeRunView> {
  const run = await createJudgeRun(input);
  if (run.status === "queued") await enqueueJudgeRun(run.id);
  return run;
}

/** Resumes a paused or failed run. */
export async function resumeJudgeRun(runId: string): Promise<JudgeRunView> {
  const run = await markRunResumed(runId);
  await enqueueJudgeRun(runId);
  return run;
}

/** Runs that want a runner and have none (no lease, or an expired one). */
export async function sweepJudgeRuns(boss?: PgBoss): Promise<number> {
  const rows = await db().$queryRaw<Array<{ id: string }>>`
    SELECT id FROM "JudgeRun"
    WHERE status IN ('queued', 'running') AND ("leaseUntil" IS NULL OR "leaseUntil" < now())`;
  for (const r of rows) await enqueueJudgeRun(r.id, { boss, throttle: true });
  return rows.length;
}

export async function registerJobs(boss: PgBoss): Promise<void> {
  await ensureQueue(boss, JUDGE_RUN_QUEUE, { retryLimit: 3, retryDelay: 5, expireInSeconds: 30 * 60 });
  await ensureQueue(boss, JUDGE_SWEEP_QUEUE, { retryLimit: 0, expireInSeconds: 5 * 60 });
  await boss.work<JudgeRunJob>(JUDGE_RUN_QUEUE, { batchSize: 1, pollingIntervalSeconds: 1 }, async ([job]) => {
    if (!job) return;
    const result = await executeJudgeRun(job.data.runId, {
      maxMs: RUN_SLICE_MS,
      signal: shutdown.signal,
      log: (m) => console.log(`[judges] ${m}`),
    });
    if (result === "more") await enqueueJudgeRun(job.data.runId, { boss });
    return { result };
  });
  await boss.work(JUDGE_SWEEP_QUEUE, { batchSize: 1, pollingIntervalSeconds: 10 }, async () => ({ requeued: await sweepJudgeRuns(boss) }));
  await boss.schedule(JUDGE_SWEEP_QUEUE, "* * * * *");
  boss.once("stopped", () => shutdown.abort());
  await sweepJudgeRuns(boss);
}

/** Aborts runs in flight in this process (they stay resumable); the worker may call it on shutdown. */
export function stopJudgeRunners(): void {
  shutdown.abort();
}
