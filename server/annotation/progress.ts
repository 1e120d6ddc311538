// An annotator's own progress: today, streak, time per item, accuracy on gold (once there are
// enough gold items to say anything) and a warning when it drops.
import "server-only";
import type { Db } from "@/server/db/client";
import { median } from "@/server/stats";

/** Gold accuracy is shown only after this many gold items. */
export const MIN_GOLD_FOR_ACCURACY = 5;
/** The recent window for the drop warning. */
export const RECENT_GOLD_WINDOW = 10;
/** Warn when accuracy over the recent window falls below this. */
export const GOLD_WARNING_BELOW = 0.7;

export interface ProgressInput {
  /** Judgments per local day, as "YYYY-MM-DD" (the annotator's time zone). */
  days: Array<{ day: string; count: number }>;
  /** Most recent judgments' time on task, in ms. */
  recentTimes: number[];
  /** Gold results, newest first. */
  gold: boolean[];
  /** Today, "YYYY-MM-DD" in the annotator's time zone. */
  today: string;
}

export interface Progress {
  today: number;
  total: number;
  /** Consecutive days with at least one judgment, ending today (or yesterday, if none yet today). */
  streak: number;
  medianSecondsPerItem: number | null;
  gold: {
    done: number;
    /** null until MIN_GOLD_FOR_ACCURACY gold items are done. */
    accuracy: number | null;
    recentAccuracy: number | null;
    warning: string | null;
  };
}

function previousDay(day: string): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - 1);
  return d.toISOString().slice(0, 10);
}

export function computeProgress(input: ProgressInput): Progress {
  const byDay = new Map(input.days.map((d) => [d.day, d.count]));
  const today = byDay.get(input.today) ?? 0;
  let streak = 0;
  let day = today > 0 ? input.today : previousDay(input.today);
  while ((byDay.get(day) ?? 0) > 0) {
    streak++;
    day = previousDay(day);
  }
  const done = input.gold.length;
  const correct = input.gold.filter(Boolean).length;
  const recent = input.gold.slice(0, RECENT_GOLD_WINDOW);
  const accuracy = done >= MIN_GOLD_FOR_ACCURACY ? correct / done : null;
  const recentAccuracy =
    recent.length >= MIN_GOLD_FOR_ACCURACY ? recent.filter(Boolean).length / recent.length : null;
  let warning: string | null = null;
  if (recentAccuracy !== null && recentAccuracy < GOLD_WARNING_BELOW) {
    warning = `Your accuracy on check items has dropped to ${Math.round(recentAccuracy * 100)}% over your last ${recent.length}. Slow down and re-read the instructions.`;
  }
  return {
    today,
    total: input.days.reduce((s, d) => s + d.count, 0),
    streak,
    medianSecondsPerItem: input.recentTimes.length ? Math.round(median(input.recentTimes) / 100) / 10 : null,
    gold: { done, accuracy, recentAccuracy, warning },
  };
}

/** Local date of `at` for a UTC offset in minutes (as JavaScript's getTimezoneOffset: UTC − local). */
export function localDay(at: Date, tzOffsetMinutes: number): string {
  return new Date(at.getTime() - tzOffsetMinutes * 60_000).toISOString().slice(0, 10);
}

export async function myProgress(
  db: Db,
  input: { userId: string; projectId?: string; tzOffsetMinutes?: number },
  opts: { now?: Date } = {},
): Promise<Progress> {
  const now = opts.now ?? new Date();
  const tz = input.tzOffsetMinutes ?? 0;
  const projectId = input.projectId ?? null;
  // Human judgments only (adjudications are a reviewer's other hat), superseded ones included:
  // the work was done. Counted per 15-minute bucket by a trigger (ActivityBucket), so a day in a
  // zone on the quarter-hour grid is a sum of whole buckets; any other zone counts the rows.
  const days =
    tz % 15 === 0
      ? await db.$queryRaw<Array<{ day: string; count: number }>>`
    SELECT to_char(to_timestamp(bucket::bigint * 900) AT TIME ZONE 'UTC' - make_interval(mins => ${tz}::int), 'YYYY-MM-DD') AS day,
      sum(n)::int AS count
    FROM "ActivityBucket"
    WHERE "userId" = ${input.userId} AND (${projectId}::text IS NULL OR "projectId" = ${projectId}) AND n <> 0
    GROUP BY 1`
      : await db.$queryRaw<Array<{ day: string; count: number }>>`
    SELECT to_char(("createdAt" - make_interval(mins => ${tz}::int)), 'YYYY-MM-DD') AS day, count(*)::int AS count
    FROM "Judgment"
    WHERE "userId" = ${input.userId} AND source = 'human' AND (${projectId}::text IS NULL OR "projectId" = ${projectId})
    GROUP BY 1`;
  const recent = await db.judgment.findMany({
    where: {
      userId: input.userId,
      source: "human",
      ...(projectId ? { projectId } : {}),
      timeSpentMs: { not: null },
    },
    orderBy: { createdAt: "desc" },
    take: 50,
    select: { timeSpentMs: true },
  });
  const gold = await db.judgment.findMany({
    where: {
      userId: input.userId,
      source: "human",
      isGoldCheck: true,
      goldCorrect: { not: null },
      ...(projectId ? { projectId } : {}),
    },
    orderBy: { createdAt: "desc" },
    take: 500,
    select: { goldCorrect: true },
  });
  return computeProgress({
    days,
    recentTimes: recent.map((r) => r.timeSpentMs ?? 0),
    gold: gold.map((g) => g.goldCorrect === true),
    today: localDay(now, tz),
  });
}
