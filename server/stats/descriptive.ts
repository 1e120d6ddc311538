/**
 * Small descriptive-statistics helpers shared by the rest of `server/stats`.
 *
 * Everything here is pure and allocation-light. Functions that summarise an
 * empty sample return `NaN` (not `0`) so that "no data" can never be mistaken
 * for a real value; check with `Number.isNaN`.
 */

/** Arithmetic mean; `NaN` for an empty sample. */
export function mean(values: ReadonlyArray<number>): number {
  if (values.length === 0) return Number.NaN;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/**
 * Sample quantile with linear interpolation between order statistics
 * (Hyndman & Fan type 7, the default of numpy `quantile` and pandas
 * `Series.quantile`, which is what Chatbot Arena's bootstrap intervals use).
 *
 * @param values sample (any order; not mutated). `NaN` entries are ignored,
 *   mirroring pandas' skip-NA behaviour.
 * @param q probability in [0, 1], e.g. 0.025 for a lower 95% bound.
 * @returns the interpolated quantile, or `NaN` when no finite-or-infinite
 *   (non-NaN) values are present.
 * @throws RangeError when `q` is outside [0, 1].
 */
export function quantile(values: ReadonlyArray<number>, q: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile: q must be in [0, 1], got ${q}`);
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((x, y) => x - y);
  return quantileSorted(sorted, q);
}

/**
 * Same as {@link quantile} but for an already ascending-sorted array without
 * `NaN`s (no copy, no sort). Use it when taking several quantiles of one sample.
 */
export function quantileSorted(sorted: ReadonlyArray<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return lo === hi || a === b ? a : a + (h - lo) * (b - a);
}

/**
 * Percentile on the 0–100 scale (type-7 interpolation, see {@link quantile}).
 * `percentile(latencies, 99)` is the p99.
 */
export function percentile(values: ReadonlyArray<number>, p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile: p must be in [0, 100], got ${p}`);
  return quantile(values, p / 100);
}

/** Median (mean of the two middle values for an even count); `NaN` when empty. */
export function median(values: ReadonlyArray<number>): number {
  return quantile(values, 0.5);
}

/** A proportion with a confidence interval. */
export interface ProportionInterval {
  /** successes / trials (`NaN` when trials = 0). */
  estimate: number;
  lower: number;
  upper: number;
}

/**
 * Wilson score interval for a binomial proportion (Wilson 1927). Unlike the
 * normal ("Wald") interval it stays inside [0, 1] and behaves sensibly for
 * small samples and proportions near 0 or 1, which is why the bias figures
 * use it.
 *
 * @param successes number of successes, 0 ≤ successes ≤ trials
 * @param trials number of trials (0 gives `{ NaN, 0, 1 }`: nothing is known)
 * @param z normal quantile for the desired confidence (1.959964 ≈ 95%)
 */
export function wilsonInterval(successes: number, trials: number, z = 1.959963984540054): ProportionInterval {
  if (!(trials >= 0) || !(successes >= 0) || successes > trials) {
    throw new RangeError(`wilsonInterval: need 0 <= successes <= trials, got ${successes}/${trials}`);
  }
  if (trials === 0) return { estimate: Number.NaN, lower: 0, upper: 1 };
  const p = successes / trials;
  const z2 = z * z;
  const denom = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials));
  return { estimate: p, lower: Math.max(0, centre - half), upper: Math.min(1, centre + half) };
}
