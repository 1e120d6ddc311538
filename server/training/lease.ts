// Leases on training rounds: one trainer works on a round at a time, and a trainer that died is
// noticed. The owner id is "host:pid:random". A lease is free when it has no owner, has run out,
// or belongs to a process on this host that no longer exists (kill -9, then a restart: the round
// resumes at once instead of waiting for the lease to run out). Trainers on other hosts wait for
// the lease to run out.
import os from "node:os";
import crypto from "node:crypto";
import { db } from "@/server/db/client";
import type { RoundStatus } from "./rounds";

export function newTrainerId(): string {
  return `${os.hostname()}:${process.pid}:${crypto.randomBytes(4).toString("hex")}`;
}

/** Is the process that holds this owner id gone? Only decidable for owners on this host. */
export function ownerIsDead(owner: string | null, me: string): boolean {
  if (!owner || owner === me) return false;
  const [host, pidText] = owner.split(":");
  if (host !== os.hostname()) return false;
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true; // our pid, another instance: the process that had it is gone
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/**
 * Claims a queued or running round (or renews our claim). Returns its status, or null when
 * another live trainer holds it or it is not claimable (finished, cancelled, failed).
 */
export async function claimRound(
  roundId: string,
  owner: string,
  leaseMs: number,
): Promise<{ status: RoundStatus; resumed: boolean } | null> {
  const cur = await db().trainingRound.findUnique({ where: { id: roundId }, select: { leaseOwner: true } });
  if (!cur) return null;
  const dead = ownerIsDead(cur.leaseOwner, owner) ? cur.leaseOwner : "";
  const rows = await db().$queryRaw<Array<{ status: RoundStatus; attempts: number }>>`
    UPDATE "TrainingRound" SET
      attempts = CASE WHEN "leaseOwner" IS DISTINCT FROM ${owner} THEN attempts + 1 ELSE attempts END,
      "leaseOwner" = ${owner},
      "leaseUntil" = now() + (${leaseMs}::int * interval '1 millisecond'),
      status = CASE WHEN status = 'queued' THEN 'running' ELSE status END,
      "startedAt" = COALESCE("startedAt", now()),
      error = NULL
    WHERE id = ${roundId} AND status IN ('queued', 'running')
      AND ("leaseOwner" IS NULL OR "leaseOwner" = ${owner} OR "leaseUntil" IS NULL OR "leaseUntil" < now() OR "leaseOwner" = ${dead})
    RETURNING status, attempts`;
  const r = rows[0];
  return r ? { status: r.status, resumed: r.attempts > 1 } : null;
}

/** Renews the lease; returns the round's status, or null when the lease was lost. */
export async function renewLease(
  roundId: string,
  owner: string,
  leaseMs: number,
): Promise<RoundStatus | null> {
  const rows = await db().$queryRaw<Array<{ status: RoundStatus }>>`
    UPDATE "TrainingRound" SET "leaseUntil" = now() + (${leaseMs}::int * interval '1 millisecond')
    WHERE id = ${roundId} AND "leaseOwner" = ${owner}
    RETURNING status`;
  return rows[0] ? rows[0].status : null;
}

export async function releaseLease(roundId: string, owner: string): Promise<void> {
  await db()
    .$executeRaw`UPDATE "TrainingRound" SET "leaseOwner" = NULL, "leaseUntil" = NULL WHERE id = ${roundId} AND "leaseOwner" = ${owner}`;
}

/** Rounds that want a trainer and have none: queued or running with a free lease. */
export async function orphanedRounds(me: string): Promise<Array<{ id: string; projectId: string }>> {
  const rows = await db().$queryRaw<
    Array<{ id: string; projectId: string; leaseOwner: string | null; free: boolean }>
  >`
    SELECT id, "projectId", "leaseOwner", ("leaseOwner" IS NULL OR "leaseUntil" IS NULL OR "leaseUntil" < now()) AS free
    FROM "TrainingRound" WHERE status IN ('queued', 'running')`;
  return rows
    .filter((r) => r.free || ownerIsDead(r.leaseOwner, me))
    .map((r) => ({ id: r.id, projectId: r.projectId }));
}
