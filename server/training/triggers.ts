// When rounds start by themselves: a cron schedule per project, and a condition (at least N new
// preference pairs since the last round's snapshot). Evaluated by the training tick (every minute,
// a pg-boss schedule worked by the trainer service) and right after a round ends. Both only ever
// *request* a round: requestRound returns the active round when there is one, so a tick that
// coincides with a click, or two trainers ticking at once, still make one round.
import { db } from "@/server/db/client";
import { firedBetween, parseCron } from "./cron";
import { requestRound, type RequestRoundResult } from "./rounds";
import { trainingSettingsOf } from "./settings";

/** How far back a cron slot still counts (a trainer down longer than this skips the slot). */
export const CRON_CATCH_UP_MS = 5 * 60_000;

export interface DueTrigger {
  projectId: string;
  trigger: "cron" | "condition";
  reason: string;
}

/** Active pairs of the project that the last round's snapshot did not hold. */
export async function newPairsSinceLastRound(projectId: string): Promise<number> {
  const last = await db().trainingRound.findFirst({
    where: { projectId, snapshotId: { not: null } },
    orderBy: { number: "desc" },
    select: { snapshotId: true },
  });
  const rows = await db().$queryRaw<Array<{ n: number }>>`
    SELECT count(*)::int AS n FROM "PreferencePair" pp
    WHERE pp."projectId" = ${projectId} AND pp.active
      AND NOT EXISTS (SELECT 1 FROM "SnapshotPair" sp WHERE sp."snapshotId" = ${last?.snapshotId ?? ""} AND sp."pairId" = pp.id)`;
  return rows[0]?.n ?? 0;
}

/** Triggers due now for one project (pure reads). */
export async function dueTriggersFor(
  projectId: string,
  settingsJson: unknown,
  now: Date,
): Promise<DueTrigger[]> {
  let settings;
  try {
    settings = trainingSettingsOf(settingsJson);
  } catch {
    return []; // invalid settings: the settings page shows the error; no automatic rounds meanwhile
  }
  const out: DueTrigger[] = [];
  const { cron, minNewPairs } = settings.schedule;
  if (cron) {
    const lastCron = await db().trainingRound.findFirst({
      where: { projectId, trigger: "cron" },
      orderBy: { createdAt: "desc" },
      select: { createdAt: true },
    });
    const from = new Date(Math.max(lastCron?.createdAt.getTime() ?? 0, now.getTime() - CRON_CATCH_UP_MS));
    const fired = firedBetween(parseCron(cron), from, now);
    if (fired)
      out.push({ projectId, trigger: "cron", reason: `schedule "${cron}" fired at ${fired.toISOString()}` });
  }
  if (minNewPairs) {
    const last = await db().trainingRound.findFirst({
      where: { projectId },
      orderBy: { number: "desc" },
      select: { status: true, number: true },
    });
    // After a failure, wait for a person (retry or run now) rather than failing again every minute.
    if (last?.status !== "failed") {
      const n = await newPairsSinceLastRound(projectId);
      if (n >= minNewPairs)
        out.push({
          projectId,
          trigger: "condition",
          reason: `${n} new pairs since the last round (threshold ${minNewPairs})`,
        });
    }
  }
  return out;
}

/** Every project's due triggers. */
export async function dueTriggers(now = new Date(), projectId?: string): Promise<DueTrigger[]> {
  const projects = await db().project.findMany({
    where: { archived: false, ...(projectId ? { id: projectId } : {}) },
    select: { id: true, settings: true },
  });
  const out: DueTrigger[] = [];
  for (const p of projects) out.push(...(await dueTriggersFor(p.id, p.settings, now)));
  return out;
}

/**
 * Requests a round for each due trigger (at most one per project: the first due trigger wins,
 * and requestRound coalesces with an active round). `onCreated` enqueues the new rounds.
 */
export async function fireDueTriggers(
  opts: {
    now?: Date;
    projectId?: string;
    onCreated?: (r: RequestRoundResult, t: DueTrigger) => Promise<void>;
  } = {},
): Promise<Array<RequestRoundResult & { due: DueTrigger }>> {
  const due = await dueTriggers(opts.now ?? new Date(), opts.projectId);
  const out: Array<RequestRoundResult & { due: DueTrigger }> = [];
  const seen = new Set<string>();
  for (const t of due) {
    if (seen.has(t.projectId)) continue;
    seen.add(t.projectId);
    const r = await requestRound({ projectId: t.projectId, trigger: t.trigger });
    if (r.created) await opts.onCreated?.(r, t);
    out.push({ ...r, due: t });
  }
  return out;
}
