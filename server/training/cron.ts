// Five-field cron expressions (minute hour day-of-month month day-of-week), evaluated in UTC:
// `*`, lists `1,5`, ranges `1-5`, steps `*/15` and `10-50/20`, names (`jan`, `mon`), 7 = Sunday.
// As in Vixie cron, when both day fields are restricted a day matches if EITHER matches.
// The training tick asks "did this project's schedule fire since the last time I looked?"
// (firedBetween), so a missed or repeated tick neither skips nor doubles a slot.

export interface CronSpec {
  source: string;
  minutes: Set<number>;
  hours: Set<number>;
  daysOfMonth: Set<number>;
  months: Set<number>;
  daysOfWeek: Set<number>;
  domRestricted: boolean;
  dowRestricted: boolean;
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

function field(
  text: string,
  name: string,
  lo: number,
  hi: number,
  names?: string[],
  nameBase = 0,
): Set<number> {
  const out = new Set<number>();
  const value = (s: string): number => {
    const i = names?.indexOf(s.toLowerCase()) ?? -1;
    if (i >= 0) return i + nameBase;
    if (!/^\d+$/.test(s)) throw new Error(`cron ${name}: "${s}" is not a number${names ? " or a name" : ""}`);
    return Number(s);
  };
  for (const part of text.split(",")) {
    const m = /^([^/]+)(?:\/(\d+))?$/.exec(part);
    if (!m) throw new Error(`cron ${name}: cannot read "${part}"`);
    const [, range, stepText] = m as unknown as [string, string, string | undefined];
    const step = stepText === undefined ? 1 : Number(stepText);
    if (step < 1) throw new Error(`cron ${name}: step must be at least 1`);
    let a: number;
    let b: number;
    if (range === "*") [a, b] = [lo, hi];
    else if (range.includes("-")) {
      const [x, y] = range.split("-") as [string, string];
      [a, b] = [value(x), value(y)];
    } else {
      a = value(range);
      b = stepText === undefined ? a : hi;
    }
    if (a < lo || b > hi || a > b) throw new Error(`cron ${name}: ${part} is outside ${lo}-${hi}`);
    for (let v = a; v <= b; v += step) out.add(v);
  }
  return out;
}

/** Parses an expression; throws an Error naming the bad field. */
export function parseCron(expr: string): CronSpec {
  const parts = expr.trim().split(/\s+/);
  if (parts.length !== 5)
    throw new Error(
      `a cron expression has 5 fields (minute hour day-of-month month day-of-week), "${expr}" has ${parts.length}`,
    );
  const [mi, ho, dom, mo, dow] = parts as [string, string, string, string, string];
  const daysOfWeek = field(dow, "day-of-week", 0, 7, DAYS);
  if (daysOfWeek.has(7)) {
    daysOfWeek.delete(7);
    daysOfWeek.add(0);
  }
  return {
    source: expr.trim(),
    minutes: field(mi, "minute", 0, 59),
    hours: field(ho, "hour", 0, 23),
    daysOfMonth: field(dom, "day-of-month", 1, 31),
    months: field(mo, "month", 1, 12, MONTHS, 1),
    daysOfWeek,
    domRestricted: dom !== "*",
    dowRestricted: dow !== "*",
  };
}

function dayMatches(spec: CronSpec, d: Date): boolean {
  if (!spec.months.has(d.getUTCMonth() + 1)) return false;
  const dom = spec.daysOfMonth.has(d.getUTCDate());
  const dow = spec.daysOfWeek.has(d.getUTCDay());
  if (spec.domRestricted && spec.dowRestricted) return dom || dow;
  if (spec.domRestricted) return dom;
  if (spec.dowRestricted) return dow;
  return true;
}

/** Does the schedule fire in the minute that holds `d`? */
export function cronMatches(spec: CronSpec, d: Date): boolean {
  return spec.minutes.has(d.getUTCMinutes()) && spec.hours.has(d.getUTCHours()) && dayMatches(spec, d);
}

const MINUTE = 60_000;
const floorMinute = (t: number) => Math.floor(t / MINUTE) * MINUTE;

/**
 * The latest firing time t with from < t <= to (whole minutes), or null. Looks back at most
 * `maxMinutes` (default one week) from `to`.
 */
export function firedBetween(spec: CronSpec, from: Date, to: Date, maxMinutes = 7 * 24 * 60): Date | null {
  const stop = Math.max(from.getTime(), to.getTime() - maxMinutes * MINUTE);
  for (let t = floorMinute(to.getTime()); t > stop; t -= MINUTE) {
    if (cronMatches(spec, new Date(t))) return new Date(t);
  }
  return null;
}

/** The next firing time strictly after `after`, or null if none within ~5 years. */
export function nextFire(spec: CronSpec, after: Date): Date | null {
  let t = floorMinute(after.getTime()) + MINUTE;
  const end = t + 5 * 366 * 24 * 60 * MINUTE;
  while (t < end) {
    const d = new Date(t);
    if (!dayMatches(spec, d)) {
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1); // next midnight
      continue;
    }
    if (!spec.hours.has(d.getUTCHours())) {
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours() + 1);
      continue;
    }
    if (spec.minutes.has(d.getUTCMinutes())) return d;
    t += MINUTE;
  }
  return null;
}
