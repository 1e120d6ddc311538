// Queueing judge runs (pg-boss), without loading the runner: the web app imports this file, and
// the runner pulls in the trainer (reward-model and rule judges), which stays out of the web bundle.
import type PgBoss from "pg-boss";
import { db } from "../db/client";
import { ensureQueue, getBoss } from "../jobs/boss";
import { createJudgeRun, markRunResumed, type CreateRunInput, type JudgeRunView } from "./runs";

export const JUDGE_RUN_QUEUE = "judges.run";
export const JUDGE_SWEEP_QUEUE = "judges.sweep";
export const JUDGE_RUN_QUEUE_OPTIONS = { retryLimit: 3, retryDelay: 5, expireInSeconds: 30 * 60 };

export interface JudgeRunJob {
  runId: string;
}

/** Queues a slice of a run. `throttle` keeps at most one job per run per minute (the sweep). */
export async function enqueueJudgeRun(
  runId: string,
  opts: { boss?: PgBoss; throttle?: boolean } = {},
): Promise<void> {
  const boss = opts.boss ?? (await getBoss());
  await ensureQueue(boss, JUDGE_RUN_QUEUE, JUDGE_RUN_QUEUE_OPTIONS);
  await boss.send(
    JUDGE_RUN_QUEUE,
    { runId } satisfies JudgeRunJob,
    opts.throttle ? { singletonKey: runId, singletonSeconds: 60 } : {},
  );
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
