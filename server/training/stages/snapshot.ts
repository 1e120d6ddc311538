// Stage 1: freeze the project's pairs (server/data createSnapshot: hashed, split by prompt). The
// split seed is fixed per project, so a prompt stays on the same side in every round and the
// reward models of two rounds can be compared on the same validation pairs.
import { db } from "@/server/db/client";
import { createSnapshot, getSnapshot, SnapshotFilter } from "@/server/data/snapshots";
import type { RoundContext } from "../context";

export const SPLIT_SEED = "pairwise-training";

export async function snapshotStage(ctx: RoundContext): Promise<Record<string, unknown>> {
  const s = ctx.settings.snapshot;
  const filter = SnapshotFilter.parse({
    validationFraction: s.validationFraction,
    seed: SPLIT_SEED,
    ...(s.minAgreement !== undefined ? { minAgreement: s.minAgreement } : {}),
    ...(s.origins ? { origins: s.origins } : {}),
  });
  let snapshotId = ctx.round.snapshotId;
  if (!snapshotId) {
    // A previous attempt may have created the snapshot and died before recording it: adopt it
    // (same filter, made after this round was requested, used by no round) instead of making another.
    const candidates = await db().datasetSnapshot.findMany({
      where: { projectId: ctx.project.id, createdAt: { gte: ctx.round.createdAt }, status: "ready" },
      orderBy: { createdAt: "desc" },
      select: { id: true, filter: true },
    });
    for (const c of candidates) {
      const used = await db().trainingRound.count({ where: { snapshotId: c.id } });
      if (!used && JSON.stringify(SnapshotFilter.parse(c.filter)) === JSON.stringify(filter)) {
        snapshotId = c.id;
        break;
      }
    }
    snapshotId ??= (await createSnapshot(db(), ctx.project.id, filter)).id;
    const r = await db().trainingRound.updateMany({
      where: { id: ctx.id, leaseOwner: ctx.opts.owner },
      data: { snapshotId },
    });
    if (r.count === 0) ctx.requestStop("lost");
    ctx.checkStop();
    ctx.round = { ...ctx.round, snapshotId };
  }
  const snap = await getSnapshot(db(), snapshotId);
  const prev = await db().trainingRound.findFirst({
    where: { projectId: ctx.project.id, number: { lt: ctx.round.number }, snapshotId: { not: null } },
    orderBy: { number: "desc" },
    select: { snapshotId: true },
  });
  const rows = await db().$queryRaw<Array<{ n: number }>>`
    SELECT count(*)::int AS n FROM "SnapshotPair" sp
    WHERE sp."snapshotId" = ${snapshotId}
      AND NOT EXISTS (SELECT 1 FROM "SnapshotPair" q WHERE q."snapshotId" = ${prev?.snapshotId ?? ""} AND q."pairId" = sp."pairId")`;
  return {
    id: snap.id,
    hash: snap.hash,
    pairCount: snap.pairCount,
    train: snap.trainCount,
    validation: snap.validationCount,
    newPairs: rows[0]?.n ?? 0,
  };
}
