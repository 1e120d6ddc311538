/**
 * Krippendorff's alpha (Krippendorff 2011, "Computing Krippendorff's
 * Alpha-Reliability"): chance-corrected agreement among any number of raters,
 * tolerant of missing ratings.
 *
 *     alpha = 1 - D_o / D_e
 *
 * where D_o is the observed disagreement between values paired within units
 * and D_e the disagreement expected if the same values were paired at random.
 * alpha = 1 is perfect agreement, 0 is chance level, negative is systematic
 * disagreement. Krippendorff suggests relying on alpha >= 0.800 and drawing
 * tentative conclusions only for alpha >= 0.667.
 *
 * Computation follows the paper: build the coincidence matrix
 *
 *     o_ck = sum over units u with m_u >= 2 ratings of
 *            (number of ordered c-k pairs of ratings in u) / (m_u - 1)
 *
 * then n_c = sum_k o_ck, n = sum_c n_c, and
 *
 *     alpha = 1 - (n - 1) * sum_ck o_ck d²_ck / sum_ck n_c n_k d²_ck
 *
 * Units with fewer than two ratings are not pairable and are ignored, as the
 * method specifies.
 */

/** Level of measurement, which selects the difference function d²(c, k). */
export type AlphaMetric = "nominal" | "ordinal" | "interval" | "ratio";

/**
 * One unit's ratings: one entry per rater who could have rated it. `null`,
 * `undefined` and `NaN` mean "no rating" and are dropped, so both ragged
 * arrays (`[[1, 1], [0, 1, 1]]`) and padded rows (`[[1, null, 1]]`) work.
 */
export type UnitRatings = ReadonlyArray<number | null | undefined>;

/** Coincidence matrix over the distinct values that occur in pairable units. */
export interface CoincidenceMatrix {
  /** Distinct rated values, ascending. Index i of `matrix` refers to `values[i]`. */
  values: number[];
  /** Symmetric `values.length × values.length` matrix o_ck. */
  matrix: number[][];
  /** n_c: row sums of `matrix` (how many pairable ratings had value c). */
  marginals: number[];
  /** n: total number of pairable ratings. */
  total: number;
  /** Number of units with at least two ratings. */
  pairableUnits: number;
}

export interface KrippendorffAlphaResult {
  /** The coefficient; `NaN` when undefined (no pairable units, or every pairable rating has the same value). */
  alpha: number;
  metric: AlphaMetric;
  /** D_o = sum_ck o_ck d²_ck / n. */
  observedDisagreement: number;
  /** D_e = sum_ck n_c n_k d²_ck / (n (n - 1)). */
  expectedDisagreement: number;
  /** Units that contributed (at least two ratings). */
  pairableUnits: number;
  /** n: ratings inside pairable units. */
  pairableValues: number;
}

function isMissing(v: number | null | undefined): v is null | undefined {
  return v === null || v === undefined || Number.isNaN(v);
}

/**
 * Builds the coincidence matrix from units of ratings.
 *
 * @param units an iterable of units, each an array of ratings (see
 *   {@link UnitRatings}). Arrays and `map.values()` both work, so data keyed by
 *   unit id (`Map<string, number[]>`) can be passed as `byUnit.values()`.
 * @throws TypeError if a rating is ±Infinity.
 */
export function coincidenceMatrix(units: Iterable<UnitRatings>): CoincidenceMatrix {
  const pairable: number[][] = [];
  const distinct = new Set<number>();
  for (const unit of units) {
    const present: number[] = [];
    for (const v of unit) {
      if (isMissing(v)) continue;
      if (!Number.isFinite(v)) throw new TypeError(`krippendorff: rating must be finite, got ${v}`);
      present.push(v);
    }
    if (present.length < 2) continue;
    pairable.push(present);
    for (const v of present) distinct.add(v);
  }
  const values = [...distinct].sort((a, b) => a - b);
  const index = new Map(values.map((v, i) => [v, i] as const));
  const k = values.length;
  const matrix = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (const present of pairable) {
    // counts within the unit, then o_ck += n_uc * (n_uk - [c = k]) / (m_u - 1)
    const counts = new Map<number, number>();
    for (const v of present) {
      const i = index.get(v) as number;
      counts.set(i, (counts.get(i) ?? 0) + 1);
    }
    const w = 1 / (present.length - 1);
    for (const [c, nc] of counts) {
      const row = matrix[c] as number[];
      for (const [kk, nk] of counts) {
        row[kk] = (row[kk] as number) + (c === kk ? nc * (nc - 1) : nc * nk) * w;
      }
    }
  }
  const marginals = matrix.map((row) => row.reduce((s, x) => s + x, 0));
  const total = marginals.reduce((s, x) => s + x, 0);
  return { values, matrix, marginals, total, pairableUnits: pairable.length };
}

/**
 * The squared difference d²(c, k) for each metric, over the value indices of a
 * coincidence matrix.
 *
 * - nominal: 0 if equal, else 1.
 * - ordinal: (sum_{g=c..k} n_g − (n_c + n_k)/2)², i.e. distance in ranks
 *   weighted by how many ratings fall between the two values. Only the order
 *   of the values matters, not their spacing.
 * - interval: (c − k)².
 * - ratio: ((c − k)/(c + k))² (0 when c = k; values should be ≥ 0).
 */
function differenceMatrix(cm: CoincidenceMatrix, metric: AlphaMetric): number[][] {
  const { values, marginals } = cm;
  const k = values.length;
  // prefix[i] = n_0 + ... + n_{i-1}, for O(1) ordinal range sums
  const prefix = [0];
  for (let i = 0; i < k; i++) prefix.push((prefix[i] as number) + (marginals[i] as number));
  const d = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      if (i === j) continue;
      const c = values[i] as number;
      const v = values[j] as number;
      let diff: number;
      switch (metric) {
        case "nominal":
          diff = 1;
          break;
        case "ordinal": {
          const lo = Math.min(i, j);
          const hi = Math.max(i, j);
          const between = (prefix[hi + 1] as number) - (prefix[lo] as number);
          diff = (between - ((marginals[i] as number) + (marginals[j] as number)) / 2) ** 2;
          break;
        }
        case "interval":
          diff = (c - v) ** 2;
          break;
        case "ratio":
          diff = c + v === 0 ? 0 : ((c - v) / (c + v)) ** 2;
          break;
      }
      (d[i] as number[])[j] = diff;
    }
  }
  return d;
}

/** Computes alpha from a precomputed coincidence matrix (see {@link coincidenceMatrix}). */
export function alphaFromCoincidences(cm: CoincidenceMatrix, metric: AlphaMetric): KrippendorffAlphaResult {
  const n = cm.total;
  const base = { metric, pairableUnits: cm.pairableUnits, pairableValues: n };
  if (n < 2) {
    return { ...base, alpha: Number.NaN, observedDisagreement: Number.NaN, expectedDisagreement: Number.NaN };
  }
  const d = differenceMatrix(cm, metric);
  let observed = 0;
  let expected = 0;
  const k = cm.values.length;
  for (let i = 0; i < k; i++) {
    const oi = cm.matrix[i] as number[];
    const di = d[i] as number[];
    const ni = cm.marginals[i] as number;
    for (let j = 0; j < k; j++) {
      const dij = di[j] as number;
      if (dij === 0) continue;
      observed += (oi[j] as number) * dij;
      expected += ni * (cm.marginals[j] as number) * dij;
    }
  }
  const observedDisagreement = observed / n;
  const expectedDisagreement = expected / (n * (n - 1));
  const alpha = expectedDisagreement === 0 ? Number.NaN : 1 - observedDisagreement / expectedDisagreement;
  return { ...base, alpha, observedDisagreement, expectedDisagreement };
}

/**
 * Krippendorff's alpha for units rated by a varying number of raters.
 *
 * For pairwise votes encode the preference as an ordered value, e.g.
 * −1 = "B better", 0 = "tie", +1 = "A better", and use the (default) ordinal
 * metric; any numeric codes work as long as their numeric order is the
 * category order (for "nominal" the codes are just labels).
 *
 * @param units one entry per unit (item being rated); see {@link UnitRatings}.
 *   Units with fewer than two ratings are ignored.
 * @param metric level of measurement, default "ordinal".
 * @returns the coefficient and its parts; `alpha` is `NaN` when it is undefined
 *   (no unit has two ratings, or all pairable ratings share one value, so
 *   D_e = 0).
 *
 * @example
 *   krippendorffAlpha([[1, 1, 0], [-1, -1], [0, 1, null]], "ordinal")
 */
export function krippendorffAlpha(
  units: Iterable<UnitRatings>,
  metric: AlphaMetric = "ordinal",
): KrippendorffAlphaResult {
  return alphaFromCoincidences(coincidenceMatrix(units), metric);
}

/**
 * Transposes Krippendorff's "reliability data matrix" layout (one row per
 * rater/observer, one column per unit, `null` for missing) into the
 * unit-major layout that {@link krippendorffAlpha} takes. Rows may have
 * different lengths; missing trailing cells count as missing ratings.
 */
export function raterMatrixToUnits(
  raters: ReadonlyArray<ReadonlyArray<number | null | undefined>>,
): Array<Array<number | null>> {
  const width = raters.reduce((w, row) => Math.max(w, row.length), 0);
  const units: Array<Array<number | null>> = [];
  for (let u = 0; u < width; u++) units.push(raters.map((row) => row[u] ?? null));
  return units;
}

/**
 * The coincidence matrix from units given as category counts with a multiplicity: `{ counts:
 * Map<value, how many ratings>, units: how many units have exactly these counts }`. The same
 * matrix as {@link coincidenceMatrix} over the expanded units (up to floating-point summation
 * order), in time proportional to the number of distinct count patterns, not of units.
 */
export function coincidenceMatrixFromCounts(
  patterns: Iterable<{ counts: ReadonlyMap<number, number>; units: number }>,
): CoincidenceMatrix {
  const pairable: Array<{ counts: ReadonlyMap<number, number>; units: number; m: number }> = [];
  const distinct = new Set<number>();
  let pairableUnits = 0;
  for (const p of patterns) {
    let m = 0;
    for (const n of p.counts.values()) m += n;
    if (m < 2 || p.units <= 0) continue;
    pairable.push({ ...p, m });
    pairableUnits += p.units;
    for (const [v, n] of p.counts) if (n > 0) distinct.add(v);
  }
  const values = [...distinct].sort((a, b) => a - b);
  const index = new Map(values.map((v, i) => [v, i] as const));
  const k = values.length;
  const matrix = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (const { counts, units, m } of pairable) {
    const w = 1 / (m - 1);
    for (const [c, nc] of counts) {
      if (nc <= 0) continue;
      const row = matrix[index.get(c) as number] as number[];
      for (const [kk, nk] of counts) {
        if (nk <= 0) continue;
        const j = index.get(kk) as number;
        row[j] = (row[j] as number) + units * (c === kk ? nc * (nc - 1) : nc * nk) * w;
      }
    }
  }
  const marginals = matrix.map((row) => row.reduce((s, x) => s + x, 0));
  const total = marginals.reduce((s, x) => s + x, 0);
  return { values, matrix, marginals, total, pairableUnits };
}
