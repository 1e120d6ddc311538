/**
 * Kappa-family agreement statistics: Fleiss' kappa (many raters, fixed count
 * per item) and Cohen's kappa (exactly two raters), plus a helper for the
 * common "human consensus vs AI judge" comparison on pairwise verdicts.
 *
 * All kappas have the form (p_o − p_e) / (1 − p_e): observed agreement p_o
 * corrected for the agreement p_e expected by chance. 1 = perfect agreement,
 * 0 = chance level, < 0 = worse than chance. When p_e = 1 (every rating falls
 * into one category) kappa is 0/0 and is returned as `NaN`.
 */

// ---------------------------------------------------------------------------
// Fleiss
// ---------------------------------------------------------------------------

export interface FleissKappaResult {
  kappa: number;
  /** P̄: mean over items of the proportion of agreeing rater pairs. */
  observedAgreement: number;
  /** P̄_e = sum_j p_j²: agreement expected by chance from category shares. */
  expectedAgreement: number;
  /** p_j: share of all ratings that went to category j. */
  categoryProportions: number[];
  /** N: number of items. */
  items: number;
  /** n: raters per item. */
  ratersPerItem: number;
}

/**
 * Fleiss' kappa (Fleiss 1971) for N items each rated by the same number n ≥ 2
 * of raters (not necessarily the same people) into k categories.
 *
 * @param counts item × category matrix: `counts[i][j]` = how many raters put
 *   item i into category j. Every row must have the same length and the same
 *   sum n. Build it with {@link categoryCounts}.
 * @throws Error when rows have different rater totals — this function does
 *   NOT silently drop items; filter to a fixed-n subset first (e.g. keep items
 *   with exactly 3 votes), or use Krippendorff's alpha, which handles varying
 *   numbers of raters natively. Also throws on an empty matrix, ragged rows,
 *   negative or non-integer counts, or n < 2.
 */
export function fleissKappa(counts: ReadonlyArray<ReadonlyArray<number>>): FleissKappaResult {
  const first = counts[0];
  if (first === undefined) throw new Error("fleissKappa: no items");
  const k = first.length;
  if (k === 0) throw new Error("fleissKappa: no categories");
  let n = -1;
  counts.forEach((row, i) => {
    if (row.length !== k)
      throw new Error(`fleissKappa: item ${i} has ${row.length} categories, expected ${k}`);
    let sum = 0;
    for (const c of row) {
      if (!Number.isInteger(c) || c < 0) throw new Error(`fleissKappa: item ${i} has invalid count ${c}`);
      sum += c;
    }
    if (n === -1) n = sum;
    else if (sum !== n) {
      throw new Error(
        `fleissKappa: every item needs the same number of raters; item 0 has ${n}, item ${i} has ${sum}. ` +
          "Filter to items with a fixed rater count or use krippendorffAlpha for varying counts.",
      );
    }
  });
  if (n < 2) throw new Error(`fleissKappa: need at least 2 raters per item, got ${n}`);
  const N = counts.length;
  const totals = new Array<number>(k).fill(0);
  let sumP = 0;
  for (const row of counts) {
    let sq = 0;
    row.forEach((c, j) => {
      totals[j] = (totals[j] as number) + c;
      sq += c * c;
    });
    sumP += (sq - n) / (n * (n - 1));
  }
  const observedAgreement = sumP / N;
  const categoryProportions = totals.map((t) => t / (N * n));
  const expectedAgreement = categoryProportions.reduce((s, p) => s + p * p, 0);
  const kappa =
    expectedAgreement === 1 ? Number.NaN : (observedAgreement - expectedAgreement) / (1 - expectedAgreement);
  return { kappa, observedAgreement, expectedAgreement, categoryProportions, items: N, ratersPerItem: n };
}

/**
 * Turns per-item label lists into the item × category count matrix used by
 * {@link fleissKappa}. `null`/`undefined` entries are skipped.
 *
 * @param items one array of labels per item
 * @param categories the category order for the columns
 * @throws Error if a label is not in `categories`.
 */
export function categoryCounts<T>(
  items: Iterable<ReadonlyArray<T | null | undefined>>,
  categories: ReadonlyArray<T>,
): number[][] {
  const index = new Map(categories.map((c, i) => [c, i] as const));
  const out: number[][] = [];
  for (const item of items) {
    const row = new Array<number>(categories.length).fill(0);
    for (const label of item) {
      if (label === null || label === undefined) continue;
      const j = index.get(label);
      if (j === undefined) throw new Error(`categoryCounts: unknown category ${String(label)}`);
      row[j] = (row[j] as number) + 1;
    }
    out.push(row);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Cohen
// ---------------------------------------------------------------------------

export interface CohenKappaResult {
  /** Cohen's kappa; `NaN` if n = 0 or p_e = 1. */
  kappa: number;
  /** p_o: raw agreement, the fraction of items both raters labelled the same. */
  observedAgreement: number;
  /** p_e = sum_j (row share_j · column share_j). */
  expectedAgreement: number;
  /** Number of items compared. */
  n: number;
}

/**
 * Cohen's kappa (Cohen 1960) from a square contingency table.
 *
 * @param table k × k matrix: `table[i][j]` = number of items rater 1 put in
 *   category i and rater 2 put in category j (rows = rater 1).
 * @throws Error if the table is not square or has negative entries.
 *
 * @example Wikipedia's example: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no
 *   cohenKappa([[20, 5], [10, 15]]).kappa // 0.4
 */
export function cohenKappa(table: ReadonlyArray<ReadonlyArray<number>>): CohenKappaResult {
  const k = table.length;
  const rows = new Array<number>(k).fill(0);
  const cols = new Array<number>(k).fill(0);
  let n = 0;
  let diag = 0;
  table.forEach((row, i) => {
    if (row.length !== k)
      throw new Error(`cohenKappa: table must be square; row ${i} has ${row.length} cells, expected ${k}`);
    row.forEach((c, j) => {
      if (!(c >= 0)) throw new Error(`cohenKappa: invalid count ${c} at [${i}][${j}]`);
      rows[i] = (rows[i] as number) + c;
      cols[j] = (cols[j] as number) + c;
      n += c;
      if (i === j) diag += c;
    });
  });
  if (n === 0)
    return { kappa: Number.NaN, observedAgreement: Number.NaN, expectedAgreement: Number.NaN, n: 0 };
  const observedAgreement = diag / n;
  let expectedAgreement = 0;
  for (let i = 0; i < k; i++) expectedAgreement += ((rows[i] as number) / n) * ((cols[i] as number) / n);
  const kappa =
    expectedAgreement === 1 ? Number.NaN : (observedAgreement - expectedAgreement) / (1 - expectedAgreement);
  return { kappa, observedAgreement, expectedAgreement, n };
}

/**
 * Builds the k × k table for {@link cohenKappa} from two parallel label
 * arrays (`first[i]` and `second[i]` are the two raters' labels for item i).
 * Items where either label is `null`/`undefined` are skipped.
 *
 * @throws Error if the arrays differ in length or a label is not in `categories`.
 */
export function contingencyTable<T>(
  first: ReadonlyArray<T | null | undefined>,
  second: ReadonlyArray<T | null | undefined>,
  categories: ReadonlyArray<T>,
): number[][] {
  if (first.length !== second.length) {
    throw new Error(`contingencyTable: raters have ${first.length} and ${second.length} labels`);
  }
  const index = new Map(categories.map((c, i) => [c, i] as const));
  const table = categories.map(() => new Array<number>(categories.length).fill(0));
  for (let i = 0; i < first.length; i++) {
    const a = first[i];
    const b = second[i];
    if (a === null || a === undefined || b === null || b === undefined) continue;
    const ia = index.get(a);
    const ib = index.get(b);
    if (ia === undefined || ib === undefined) {
      throw new Error(`contingencyTable: unknown category ${String(ia === undefined ? a : b)}`);
    }
    const row = table[ia] as number[];
    row[ib] = (row[ib] as number) + 1;
  }
  return table;
}

/** Cohen's kappa straight from two parallel label arrays (see {@link contingencyTable}). */
export function cohenKappaFromLabels<T>(
  first: ReadonlyArray<T | null | undefined>,
  second: ReadonlyArray<T | null | undefined>,
  categories: ReadonlyArray<T>,
): CohenKappaResult {
  return cohenKappa(contingencyTable(first, second, categories));
}

// ---------------------------------------------------------------------------
// Pairwise verdicts: reference (e.g. human consensus) vs AI judge
// ---------------------------------------------------------------------------

/** A pairwise preference verdict: completion A better, B better, or a tie. */
export type PairwiseVerdict = "a" | "b" | "tie";

export interface VerdictPair {
  /** The reference verdict, e.g. the human majority/consensus. */
  reference: PairwiseVerdict;
  /** The verdict under test, e.g. the AI judge's. */
  judge: PairwiseVerdict;
}

export interface VerdictAgreement {
  /**
   * Cohen's kappa on all three categories {a, b, tie}; its
   * `observedAgreement` is the raw agreement rate.
   */
  withTies: CohenKappaResult & { table: number[][] };
  /**
   * Cohen's kappa on the 2 × 2 {a, b} table restricted to comparisons where
   * neither side said "tie" (how well they agree on direction when both
   * commit).
   */
  decisiveOnly: CohenKappaResult & { table: number[][] };
}

/**
 * Agreement between two verdict sources on the same comparisons (typically
 * human consensus vs an AI judge). Rows of the returned tables are the
 * reference, columns the judge, both in the order [a, b, tie] / [a, b].
 */
export function verdictAgreement(pairs: ReadonlyArray<VerdictPair>): VerdictAgreement {
  const ref = pairs.map((p) => p.reference);
  const judge = pairs.map((p) => p.judge);
  const table3 = contingencyTable<PairwiseVerdict>(ref, judge, ["a", "b", "tie"]);
  const table2 = [0, 1].map((i) => [0, 1].map((j) => (table3[i] as number[])[j] as number));
  return {
    withTies: { ...cohenKappa(table3), table: table3 },
    decisiveOnly: { ...cohenKappa(table2), table: table2 },
  };
}

/**
 * Fleiss' kappa from count rows with a multiplicity (`units` items have exactly these category
 * counts): the same figure as {@link fleissKappa} over the expanded rows (up to floating-point
 * summation order), in time proportional to the number of distinct rows.
 */
export function fleissKappaFromCounts(
  rows: ReadonlyArray<{ counts: ReadonlyArray<number>; units: number }>,
): FleissKappaResult {
  const used = rows.filter((r) => r.units > 0);
  const first = used[0];
  if (first === undefined) throw new Error("fleissKappa: no items");
  const k = first.counts.length;
  const n = first.counts.reduce((s, c) => s + c, 0);
  for (const r of used) {
    if (r.counts.length !== k || r.counts.reduce((s, c) => s + c, 0) !== n)
      throw new Error("fleissKappa: every item needs the same number of raters and categories");
  }
  if (n < 2) throw new Error(`fleissKappa: need at least 2 raters per item, got ${n}`);
  let N = 0;
  const totals = new Array<number>(k).fill(0);
  let sumP = 0;
  for (const { counts, units } of used) {
    N += units;
    let sq = 0;
    counts.forEach((c, j) => {
      totals[j] = (totals[j] as number) + units * c;
      sq += c * c;
    });
    sumP += (units * (sq - n)) / (n * (n - 1));
  }
  const observedAgreement = sumP / N;
  const categoryProportions = totals.map((t) => t / (N * n));
  const expectedAgreement = categoryProportions.reduce((s, p) => s + p * p, 0);
  const kappa =
    expectedAgreement === 1 ? Number.NaN : (observedAgreement - expectedAgreement) / (1 - expectedAgreement);
  return { kappa, observedAgreement, expectedAgreement, categoryProportions, items: N, ratersPerItem: n };
}
