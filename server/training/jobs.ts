// pg-boss plumbing of training rounds.
//  - "training.round" {roundId}: runs (or resumes) a round. Stately queue keyed by round: at most
//    one waiting and one active job per round; the round's lease (lease.ts) is what keeps two
//    trainers off one round, and the one-active-round index what keeps a project to one round.
//  - "training.tick" (every minute, a pg-boss schedule; the worker process runs the clock):
//    re-enqueues rounds no live trainer holds, then fires due cron / condition triggers.
import type PgBoss from "pg-boss";
import { ensureQueue, getBoss } from "@/server/jobs/boss";
import { orphanedRounds } from "./lease";
import { requestRound, type RequestRoundInput, type RequestRoundResult } from "./rounds";
import { fireDueTriggers } from "./triggers";

export const ROUND_QUEUE = "training.round";
export const TICK_QUEUE = "training.tick";
/** A round may train for hours; its lease, not the job's expiry, says whether a trainer is alive. */
const ROUND_JOB_EXPIRY_S = 23 * 3600; // pg-boss's maximum is 24 h

export interface RoundJob {
  roundId: string;
}

export async function ensureTrainingQueues(boss: PgBoss): Promise<void> {
  await ensureQueue(boss, ROUND_QUEUE, {
    policy: "stately",
    retryLimit: 3,
    retryDelay: 10,
    expireInSeconds: ROUND_JOB_EXPIRY_S,
  });
  await ensureQueue(boss, TICK_QUEUE, { policy: "stately", retryLimit: 0, expireInSeconds: 5 * 60 });
}

/** Queues a round for a trainer. */
export async function enqueueRound(roundId: string, boss?: PgBoss): Promise<void> {
  const b = boss ?? (await getBoss());
  await ensureTrainingQueues(b);
  await b.send(ROUND_QUEUE, { roundId } satisfies RoundJob, {
    singletonKey: roundId,
    expireInSeconds: ROUND_JOB_EXPIRY_S,
  });
}

/** "Run now" from the UI, the CLI or the REST API: request a round and queue it. */
export async function requestAndEnqueue(
  input: RequestRoundInput,
  boss?: PgBoss,
): Promise<RequestRoundResult> {
  const r = await requestRound(input);
  // A queued round from an earlier request whose job was lost gets a job again (deduplicated).
  if (r.created || r.round.status === "queued") await enqueueRound(r.round.id, boss);
  return r;
}

/** Queues every round that wants a trainer and has none. */
export async function sweepRounds(boss: PgBoss, me: string): Promise<number> {
  const rows = await orphanedRounds(me);
  for (const r of rows) await enqueueRound(r.id, boss);
  return rows.length;
}

/** One tick: orphans, then triggers. */
export async function trainingTick(
  boss: PgBoss,
  me: string,
  opts: { projectId?: string; log?: (m: string) => void } = {},
): Promise<{ requeued: number; started: number }> {
  const requeued = await sweepRounds(boss, me);
  const fired = await fireDueTriggers({
    projectId: opts.projectId,
    onCreated: async (r, t) => {
      opts.log?.(`round ${r.round.number} of project ${r.round.projectId} requested: ${t.reason}`);
      await enqueueRound(r.round.id, boss);
    },
  });
  return { requeued, started: fired.filter((f) => f.created).length };
}
