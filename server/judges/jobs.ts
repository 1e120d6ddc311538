// pg-boss jobs of the AI judges. The worker process calls registerJobs(boss).
//  - "judges.run" {runId}: executes a run for up to RUN_SLICE_MS, then re-enqueues itself, so a
//    long run never outlives a job's expiry and several runs take turns;
//  - "judges.sweep" (every minute, and once at start): re-enqueues runs that are queued or
//    running but held by no live runner (a crashed worker's lease ran out, or a job was lost).
// Queueing lives in queue.ts (the web app imports that one; this file loads the runner).
import type PgBoss from "pg-boss";
import { ensureQueue } from "../jobs/boss";
import { executeJudgeRun } from "./runner";
import {
  enqueueJudgeRun,
  JUDGE_RUN_QUEUE,
  JUDGE_RUN_QUEUE_OPTIONS,
  JUDGE_SWEEP_QUEUE,
  sweepJudgeRuns,
  type JudgeRunJob,
} from "./queue";

export {
  enqueueJudgeRun,
  resumeJudgeRun,
  startJudgeRun,
  sweepJudgeRuns,
  JUDGE_RUN_QUEUE,
  JUDGE_SWEEP_QUEUE,
} from "./queue";

const RUN_SLICE_MS = 2 * 60_000;
const shutdown = new AbortController();

export async function registerJobs(boss: PgBoss): Promise<void> {
  await ensureQueue(boss, JUDGE_RUN_QUEUE, JUDGE_RUN_QUEUE_OPTIONS);
  await ensureQueue(boss, JUDGE_SWEEP_QUEUE, { retryLimit: 0, expireInSeconds: 5 * 60 });
  await boss.work<JudgeRunJob>(
    JUDGE_RUN_QUEUE,
    { batchSize: 1, pollingIntervalSeconds: 1 },
    async ([job]) => {
      if (!job) return;
      const result = await executeJudgeRun(job.data.runId, {
        maxMs: RUN_SLICE_MS,
        signal: shutdown.signal,
        log: (m) => console.log(`[judges] ${m}`),
      });
      if (result === "more") await enqueueJudgeRun(job.data.runId, { boss });
      return { result };
    },
  );
  await boss.work(JUDGE_SWEEP_QUEUE, { batchSize: 1, pollingIntervalSeconds: 10 }, async () => ({
    requeued: await sweepJudgeRuns(boss),
  }));
  await boss.schedule(JUDGE_SWEEP_QUEUE, "* * * * *");
  boss.once("stopped", () => shutdown.abort());
  await sweepJudgeRuns(boss);
}

/** Aborts runs in flight in this process (they stay resumable); the worker may call it on shutdown. */
export function stopJudgeRunners(): void {
  shutdown.abort();
}
