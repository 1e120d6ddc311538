/**
 * Bradley–Terry ratings for pairwise "battles" between sources (models,
 * checkpoints, prompts…), in the form popularised by Chatbot Arena
 * (FastChat `fastchat/serve/monitor/elo_analysis.py`, `compute_mle_elo` /
 * `get_bootstrap_result`).
 *
 * Model. Each source i has a strength θ_i in log10-odds units and
 *
 *     P(i beats j) = 1 / (1 + 10^(θ_j − θ_i)) = 1 / (1 + 10^((R_j − R_i)/400))
 *
 * with the reported rating R_i = SCALE·θ_i + INIT_RATING (SCALE = 400,
 * BASE = 10, INIT_RATING = 1000 by default — Arena's constants). A tie counts
 * as half a win for each side, exactly like Arena, which duplicates every
 * battle and turns a tie into one win for each side.
 *
 * Fit. θ is the maximum-likelihood estimate (equivalently, the coefficients of
 * a logistic regression without intercept on ±ln(BASE) indicator features,
 * which is what Arena fits with scikit-learn / scipy). We maximise the
 * log-likelihood directly with Newton's method plus a backtracking line
 * search, iterating until the largest θ update is below `tolerance`
 * (1e-10 log10-odds, i.e. ~4e-8 rating points by default). At the optimum the
 * score equations hold: for every source, observed score (wins + ties/2)
 * equals the sum of its predicted win probabilities.
 *
 * Anchor. BT is invariant to adding a constant to every θ, so an anchor is
 * needed. By default the θ are centred to mean 0, so the MEAN rating over the
 * fitted sources is INIT_RATING (1000). This is the same solution Arena's
 * unpenalised fit reaches (its optimiser starts at 0 and every gradient sums
 * to 0). Pass `anchor: { source, rating }` to pin one reference source
 * instead (Arena pins mixtral-8x7b-instruct-v0.1 at 1114); the whole scale is
 * shifted, differences are unchanged.
 *
 * Existence. The unpenalised MLE is finite only if the "beat" graph is
 * strongly connected: every source must, through a chain of wins (ties count
 * both ways), both beat and be beaten by every other (Hunter 2004, Ford
 * 1957). A source that never lost, or two groups that never met, make some θ
 * run off to ±∞. In that case (`identifiable: false`) a weak ridge penalty
 * `fallbackL2`·Σθ²/2 is added so the numbers stay finite; the ratings of the
 * offending sources then only mean "very high/low" and should be flagged in
 * the UI. Passing `l2 > 0` always applies that ridge.
 */
import { quantileSorted } from "./descriptive";
import { createRng, randomInt } from "./rng";

/** Outcome of one battle: source `a` won, `b` won, or tie. */
export type BattleWinner = "a" | "b" | "tie";

/** One pairwise comparison between two different sources. */
export interface Battle {
  a: string;
  b: string;
  winner: BattleWinner;
}

export interface BradleyTerryOptions {
  /** Rating points per unit of θ (log10-odds). Default 400. */
  scale?: number;
  /** Odds base of θ. Default 10 (so 400 points = 10:1 odds). */
  base?: number;
  /** Rating of the mean source (or the offset before anchoring). Default 1000. */
  initRating?: number;
  /** Pin this source to this rating instead of centring the mean at `initRating`. */
  anchor?: { source: string; rating: number };
  /** How to treat ties: "half" (Arena default, half a win each) or "exclude" (drop tie battles). */
  ties?: "half" | "exclude";
  /** Ridge penalty λ on θ (objective: loglik − λ/2·Σθ²). Default 0 = plain MLE. */
  l2?: number;
  /** Ridge used instead when the plain MLE does not exist (see module docs). Default 0.01. */
  fallbackL2?: number;
  /** Convergence threshold on the largest Newton update of θ. Default 1e-10. */
  tolerance?: number;
  /** Newton iteration cap. Default 100 (typically converges in < 15). */
  maxIterations?: number;
}

/** Per-source fitted values. */
export interface BradleyTerryRating {
  source: string;
  /** Reported rating R = scale·θ + initRating (after anchoring). */
  rating: number;
  /** Strength in log_base-odds, mean-centred over the fitted sources (before anchoring). */
  theta: number;
}

export interface BradleyTerryFit {
  /** One row per source that appears in a (kept) battle, highest rating first. */
  ratings: BradleyTerryRating[];
  /** Same ratings keyed by source. */
  ratingBySource: Record<string, number>;
  /** false when the plain MLE does not exist and the fallback ridge was used. */
  identifiable: boolean;
  /** Ridge penalty actually used (0 for the plain MLE). */
  l2: number;
  converged: boolean;
  iterations: number;
  /** Maximised log-likelihood (natural log; a tie contributes ½·log p + ½·log(1−p)). */
  logLikelihood: number;
  /** Battles used (after excluding ties if requested). */
  battles: number;
}

interface Resolved {
  scale: number;
  base: number;
  initRating: number;
  anchor: { source: string; rating: number } | undefined;
  ties: "half" | "exclude";
  l2: number;
  fallbackL2: number;
  tolerance: number;
  maxIterations: number;
}

function resolve(o: BradleyTerryOptions = {}): Resolved {
  const r: Resolved = {
    scale: o.scale ?? 400,
    base: o.base ?? 10,
    initRating: o.initRating ?? 1000,
    anchor: o.anchor,
    ties: o.ties ?? "half",
    l2: o.l2 ?? 0,
    fallbackL2: o.fallbackL2 ?? 0.01,
    tolerance: o.tolerance ?? 1e-10,
    maxIterations: o.maxIterations ?? 100,
  };
  if (!(r.base > 1)) throw new RangeError(`bradleyTerry: base must be > 1, got ${r.base}`);
  if (!(r.l2 >= 0) || !(r.fallbackL2 > 0))
    throw new RangeError("bradleyTerry: l2 must be >= 0 and fallbackL2 > 0");
  return r;
}

/**
 * Aggregated pair data over `m` sources: for pair p, `n[p]` battles between
 * sources `i[p]` < `j[p]`, of which source i scored `s[p]` (wins + ties/2).
 */
interface PairTable {
  m: number;
  i: Int32Array;
  j: Int32Array;
  n: Float64Array;
  s: Float64Array;
}

/** log σ(x), stable for large |x|. */
function logSigmoid(x: number): number {
  return x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x));
}

function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** Strong connectivity of the "beat" graph (edge u→v when u scored > 0 against v). */
function stronglyConnected(t: PairTable): boolean {
  if (t.m <= 1) return true;
  const fwd: number[][] = Array.from({ length: t.m }, () => []);
  const rev: number[][] = Array.from({ length: t.m }, () => []);
  for (let p = 0; p < t.n.length; p++) {
    const i = t.i[p] as number;
    const j = t.j[p] as number;
    const si = t.s[p] as number;
    const sj = (t.n[p] as number) - si;
    if (si > 0) {
      (fwd[i] as number[]).push(j);
      (rev[j] as number[]).push(i);
    }
    if (sj > 0) {
      (fwd[j] as number[]).push(i);
      (rev[i] as number[]).push(j);
    }
  }
  const reachesAll = (adj: number[][]): boolean => {
    const seen = new Uint8Array(t.m);
    const stack = [0];
    seen[0] = 1;
    let count = 1;
    while (stack.length > 0) {
      const u = stack.pop() as number;
      for (const v of adj[u] as number[]) {
        if (!seen[v]) {
          seen[v] = 1;
          count++;
          stack.push(v);
        }
      }
    }
    return count === t.m;
  };
  return reachesAll(fwd) && reachesAll(rev);
}

/** Penalised log-likelihood (natural log) at θ. */
function objective(t: PairTable, theta: Float64Array, L: number, l2: number): { f: number; ll: number } {
  let ll = 0;
  for (let p = 0; p < t.n.length; p++) {
    const x = L * ((theta[t.i[p] as number] as number) - (theta[t.j[p] as number] as number));
    const s = t.s[p] as number;
    const n = t.n[p] as number;
    if (s > 0) ll += s * logSigmoid(x);
    if (n - s > 0) ll += (n - s) * logSigmoid(-x);
  }
  let pen = 0;
  if (l2 > 0) for (const v of theta) pen += v * v;
  return { f: ll - (l2 / 2) * pen, ll };
}

/** In-place Cholesky solve of A x = b (A symmetric positive definite, row-major m×m). Returns false if not PD. */
function choleskySolve(A: Float64Array, b: Float64Array, m: number): boolean {
  for (let k = 0; k < m; k++) {
    let d = A[k * m + k] as number;
    for (let r = 0; r < k; r++) d -= (A[k * m + r] as number) ** 2;
    if (!(d > 0)) return false;
    const lkk = Math.sqrt(d);
    A[k * m + k] = lkk;
    for (let i = k + 1; i < m; i++) {
      let v = A[i * m + k] as number;
      for (let r = 0; r < k; r++) v -= (A[i * m + r] as number) * (A[k * m + r] as number);
      A[i * m + k] = v / lkk;
    }
  }
  for (let i = 0; i < m; i++) {
    let v = b[i] as number;
    for (let r = 0; r < i; r++) v -= (A[i * m + r] as number) * (b[r] as number);
    b[i] = v / (A[i * m + i] as number);
  }
  for (let i = m - 1; i >= 0; i--) {
    let v = b[i] as number;
    for (let r = i + 1; r < m; r++) v -= (A[r * m + i] as number) * (b[r] as number);
    b[i] = v / (A[i * m + i] as number);
  }
  return true;
}

interface ThetaFit {
  theta: Float64Array;
  identifiable: boolean;
  l2: number;
  converged: boolean;
  iterations: number;
  logLikelihood: number;
}

/** Newton's method on the (penalised) BT log-likelihood; returns mean-centred θ. */
function fitTheta(t: PairTable, opts: Resolved): ThetaFit {
  const m = t.m;
  const L = Math.log(opts.base);
  const identifiable = stronglyConnected(t);
  const l2 = opts.l2 > 0 ? opts.l2 : identifiable ? 0 : opts.fallbackL2;
  const theta = new Float64Array(m);
  if (m <= 1)
    return {
      theta,
      identifiable,
      l2,
      converged: true,
      iterations: 0,
      logLikelihood: objective(t, theta, L, l2).ll,
    };

  let current = objective(t, theta, L, l2);
  let converged = false;
  let iterations = 0;
  const H = new Float64Array(m * m);
  const g = new Float64Array(m);
  const next = new Float64Array(m);
  for (; iterations < opts.maxIterations && !converged; iterations++) {
    H.fill(0);
    g.fill(0);
    for (let p = 0; p < t.n.length; p++) {
      const i = t.i[p] as number;
      const j = t.j[p] as number;
      const n = t.n[p] as number;
      const prob = sigmoid(L * ((theta[i] as number) - (theta[j] as number)));
      const r = L * ((t.s[p] as number) - n * prob);
      g[i] = (g[i] as number) + r;
      g[j] = (g[j] as number) - r;
      const w = L * L * n * prob * (1 - prob);
      H[i * m + i] = (H[i * m + i] as number) + w;
      H[j * m + j] = (H[j * m + j] as number) + w;
      H[i * m + j] = (H[i * m + j] as number) - w;
      H[j * m + i] = (H[j * m + i] as number) - w;
    }
    let trace = 0;
    for (let i = 0; i < m; i++) {
      g[i] = (g[i] as number) - l2 * (theta[i] as number);
      H[i * m + i] = (H[i * m + i] as number) + l2;
      trace += H[i * m + i] as number;
    }
    if (l2 === 0) {
      // The Laplacian-shaped Hessian is singular along the all-ones vector. The
      // gradient is orthogonal to it, so adding c·11ᵀ leaves the Newton step
      // unchanged (and orthogonal to 1) while making the system positive definite.
      const c = trace / m / m;
      for (let k = 0; k < m * m; k++) H[k] = (H[k] as number) + c;
    }
    const delta = Float64Array.from(g);
    if (!choleskySolve(H, delta, m)) {
      // Numerically indefinite (extreme probabilities): fall back to a scaled gradient step.
      for (let i = 0; i < m; i++) delta[i] = (g[i] as number) / Math.max(trace / m, 1e-12);
    }
    let stepSize = 1;
    let accepted = false;
    for (let halvings = 0; halvings < 40; halvings++) {
      for (let i = 0; i < m; i++) next[i] = (theta[i] as number) + stepSize * (delta[i] as number);
      const cand = objective(t, next, L, l2);
      if (cand.f >= current.f - 1e-12 * Math.abs(current.f)) {
        accepted = true;
        let maxStep = 0;
        for (let i = 0; i < m; i++)
          maxStep = Math.max(maxStep, Math.abs((next[i] as number) - (theta[i] as number)));
        theta.set(next);
        current = cand;
        if (maxStep < opts.tolerance) converged = true;
        break;
      }
      stepSize /= 2;
    }
    if (!accepted) {
      // No ascent possible at machine precision: accept as converged only if the gradient is negligible.
      let gmax = 0;
      for (const v of g) gmax = Math.max(gmax, Math.abs(v));
      let total = 0;
      for (const v of t.n) total += v;
      converged = gmax <= 1e-8 * Math.max(1, total);
      break;
    }
  }
  // Anchor: mean θ = 0 (exact for the plain MLE up to rounding; the ridge optimum is centred too).
  let mu = 0;
  for (const v of theta) mu += v;
  mu /= m;
  for (let i = 0; i < m; i++) theta[i] = (theta[i] as number) - mu;
  return { theta, identifiable, l2, converged, iterations, logLikelihood: objective(t, theta, L, 0).ll };
}

/** Battles after tie handling, indexed against a source list. */
interface Indexed {
  sources: string[];
  /** per kept battle: pair index into `pairI/pairJ` and score of the lower-index source */
  battlePair: Int32Array;
  battleScore: Float64Array;
  pairI: Int32Array;
  pairJ: Int32Array;
}

function indexBattles(battles: ReadonlyArray<Battle>, ties: "half" | "exclude"): Indexed {
  const sourceIndex = new Map<string, number>();
  const sources: string[] = [];
  const pairIndex = new Map<number, number>();
  const pairI: number[] = [];
  const pairJ: number[] = [];
  const bp: number[] = [];
  const bs: number[] = [];
  const idx = (name: string): number => {
    let k = sourceIndex.get(name);
    if (k === undefined) {
      k = sources.length;
      sourceIndex.set(name, k);
      sources.push(name);
    }
    return k;
  };
  battles.forEach((battle, n) => {
    if (battle.a === battle.b) throw new Error(`bradleyTerry: battle ${n} pits "${battle.a}" against itself`);
    if (battle.winner !== "a" && battle.winner !== "b" && battle.winner !== "tie") {
      throw new Error(`bradleyTerry: battle ${n} has invalid winner ${String(battle.winner)}`);
    }
    if (battle.winner === "tie" && ties === "exclude") return;
    const ia = idx(battle.a);
    const ib = idx(battle.b);
    const lo = Math.min(ia, ib);
    const hi = Math.max(ia, ib);
    const key = lo * 0x200000 + hi;
    let p = pairIndex.get(key);
    if (p === undefined) {
      p = pairI.length;
      pairIndex.set(key, p);
      pairI.push(lo);
      pairJ.push(hi);
    }
    const scoreA = battle.winner === "a" ? 1 : battle.winner === "b" ? 0 : 0.5;
    bp.push(p);
    bs.push(ia === lo ? scoreA : 1 - scoreA);
  });
  return {
    sources,
    battlePair: Int32Array.from(bp),
    battleScore: Float64Array.from(bs),
    pairI: Int32Array.from(pairI),
    pairJ: Int32Array.from(pairJ),
  };
}

/**
 * Builds the pair table from per-pair counts, keeping only sources that occur
 * (a bootstrap resample can miss some). Returns the table and the original
 * index of each kept source.
 */
function compactTable(ix: Indexed, n: Float64Array, s: Float64Array): { table: PairTable; kept: number[] } {
  const local = new Int32Array(ix.sources.length).fill(-1);
  const kept: number[] = [];
  const ti: number[] = [];
  const tj: number[] = [];
  const tn: number[] = [];
  const ts: number[] = [];
  for (let p = 0; p < n.length; p++) {
    if ((n[p] as number) === 0) continue;
    for (const g of [ix.pairI[p] as number, ix.pairJ[p] as number]) {
      if (local[g] === -1) {
        local[g] = kept.length;
        kept.push(g);
      }
    }
    ti.push(local[ix.pairI[p] as number] as number);
    tj.push(local[ix.pairJ[p] as number] as number);
    tn.push(n[p] as number);
    ts.push(s[p] as number);
  }
  return {
    table: {
      m: kept.length,
      i: Int32Array.from(ti),
      j: Int32Array.from(tj),
      n: Float64Array.from(tn),
      s: Float64Array.from(ts),
    },
    kept,
  };
}

function countPairs(ix: Indexed, draws?: Int32Array): { n: Float64Array; s: Float64Array } {
  const n = new Float64Array(ix.pairI.length);
  const s = new Float64Array(ix.pairI.length);
  const total = draws ? draws.length : ix.battlePair.length;
  for (let k = 0; k < total; k++) {
    const b = draws ? (draws[k] as number) : k;
    const p = ix.battlePair[b] as number;
    n[p] = (n[p] as number) + 1;
    s[p] = (s[p] as number) + (ix.battleScore[b] as number);
  }
  return { n, s };
}

/** θ → ratings with the configured anchor; `null` if the anchor source is absent. */
function toRatings(theta: Float64Array, names: string[], opts: Resolved): number[] | null {
  const ratings = Array.from(theta, (v) => opts.scale * v + opts.initRating);
  if (opts.anchor) {
    const k = names.indexOf(opts.anchor.source);
    if (k === -1) return null;
    const shift = opts.anchor.rating - (ratings[k] as number);
    for (let i = 0; i < ratings.length; i++) ratings[i] = (ratings[i] as number) + shift;
  }
  return ratings;
}

/**
 * Fits Bradley–Terry ratings to battles by maximum likelihood (see module
 * docs for model, anchor and the non-identifiable case).
 *
 * @param battles `{ a, b, winner }` with `a !== b`; order within a battle does
 *   not matter to the fit.
 * @throws Error on a self-battle or invalid winner; also if `anchor.source`
 *   never appears.
 */
export function fitBradleyTerry(
  battles: ReadonlyArray<Battle>,
  options?: BradleyTerryOptions,
): BradleyTerryFit {
  const opts = resolve(options);
  const ix = indexBattles(battles, opts.ties);
  const { n, s } = countPairs(ix);
  const { table, kept } = compactTable(ix, n, s);
  const names = kept.map((g) => ix.sources[g] as string);
  const fit = fitTheta(table, opts);
  const ratings = toRatings(fit.theta, names, opts);
  if (ratings === null)
    throw new Error(`bradleyTerry: anchor source "${opts.anchor?.source}" has no battles`);
  const rows: BradleyTerryRating[] = names.map((source, k) => ({
    source,
    rating: ratings[k] as number,
    theta: fit.theta[k] as number,
  }));
  rows.sort((x, y) => y.rating - x.rating || (x.source < y.source ? -1 : 1));
  return {
    ratings: rows,
    ratingBySource: Object.fromEntries(rows.map((r) => [r.source, r.rating])),
    identifiable: fit.identifiable,
    l2: fit.l2,
    converged: fit.converged,
    iterations: fit.iterations,
    logLikelihood: fit.logLikelihood,
    battles: ix.battlePair.length,
  };
}

/**
 * Predicted probability that a source rated `ratingA` beats one rated
 * `ratingB`: 1 / (1 + base^((ratingB − ratingA)/scale)).
 */
export function winProbability(ratingA: number, ratingB: number, scale = 400, base = 10): number {
  return 1 / (1 + base ** ((ratingB - ratingA) / scale));
}

/** An interval on some score, as used for CI-based ranking. */
export interface ScoreInterval {
  lower: number;
  upper: number;
}

/**
 * Arena's confidence-interval rank: 1 + the number of OTHER entries whose
 * lower bound is strictly above this entry's upper bound. Entries whose
 * intervals overlap share ranks, so ranks can repeat and skip.
 */
export function ranksFromIntervals(intervals: ReadonlyArray<ScoreInterval>): number[] {
  return intervals.map((self, i) => {
    let rank = 1;
    intervals.forEach((other, j) => {
      if (j !== i && other.lower > self.upper) rank++;
    });
    return rank;
  });
}

export interface LeaderboardOptions extends BradleyTerryOptions {
  /** Bootstrap resamples of the battle list. Default 100 (Arena's CLI default). */
  rounds?: number;
  /** Seed for the resampling RNG, so intervals are reproducible. Default 42. */
  seed?: number;
  /** Two-sided coverage of the percentile interval. Default 0.95 (2.5%–97.5% quantiles). */
  confidence?: number;
}

export interface LeaderboardRow {
  source: string;
  /** Rating from the fit on all battles (Arena's displayed score). */
  rating: number;
  /** Lower percentile bound of the bootstrap ratings (2.5% by default). */
  lower: number;
  /** Upper percentile bound (97.5% by default). */
  upper: number;
  /** Median of the bootstrap ratings (Arena's older leaderboards showed this). */
  bootstrapMedian: number;
  /** Resamples in which this source appeared (and was therefore rated). */
  bootstrapSamples: number;
  /** 1 + number of sources whose `lower` exceeds this source's `upper` (see {@link ranksFromIntervals}). */
  rank: number;
  /** Battles involving this source, and their outcomes from its side (ties kept in the counts even when excluded from the fit). */
  battles: number;
  wins: number;
  losses: number;
  ties: number;
}

export interface Leaderboard {
  /** Sorted by `rating`, highest first. */
  rows: LeaderboardRow[];
  /** The full-data fit that produced `rating`. */
  fit: BradleyTerryFit;
  /** Resamples drawn. */
  rounds: number;
  /** Resamples that yielded ratings (those lacking the anchor source are dropped). */
  usableRounds: number;
  /** Resamples whose plain MLE did not exist and used the fallback ridge. */
  nonIdentifiableRounds: number;
}

/**
 * Chatbot-Arena-style leaderboard: the MLE fit on all battles plus percentile
 * bootstrap intervals, following FastChat's `get_bootstrap_result`: each round
 * draws `battles.length` battles with replacement, refits, and the interval is
 * the (1−confidence)/2 and (1+confidence)/2 type-7 quantiles of a source's
 * ratings across rounds. A source absent from a resample gets no value in
 * that round (pandas would record NaN and skip it). Rank uses
 * {@link ranksFromIntervals}.
 *
 * Reproducible for a given `seed`, but not bit-identical to a Python run (the
 * RNG differs). Cost: `rounds` Newton fits of an m×m system, fine for the
 * tens-to-hundreds of sources a dashboard shows.
 */
export function bradleyTerryLeaderboard(
  battles: ReadonlyArray<Battle>,
  options: LeaderboardOptions = {},
): Leaderboard {
  const opts = resolve(options);
  const rounds = options.rounds ?? 100;
  const confidence = options.confidence ?? 0.95;
  if (!Number.isInteger(rounds) || rounds < 0)
    throw new RangeError(`bradleyTerryLeaderboard: rounds must be a non-negative integer`);
  if (!(confidence > 0 && confidence < 1))
    throw new RangeError(`bradleyTerryLeaderboard: confidence must be in (0, 1)`);
  const fit = fitBradleyTerry(battles, options);
  const ix = indexBattles(battles, opts.ties);
  const samples = new Map<string, number[]>(fit.ratings.map((r) => [r.source, []]));
  const rng = createRng(options.seed ?? 42);
  const nb = ix.battlePair.length;
  const draws = new Int32Array(nb);
  let usableRounds = 0;
  let nonIdentifiableRounds = 0;
  for (let r = 0; r < rounds && nb > 0; r++) {
    for (let k = 0; k < nb; k++) draws[k] = randomInt(rng, nb);
    const { n, s } = countPairs(ix, draws);
    const { table, kept } = compactTable(ix, n, s);
    const names = kept.map((g) => ix.sources[g] as string);
    const th = fitTheta(table, opts);
    if (!th.identifiable) nonIdentifiableRounds++;
    const ratings = toRatings(th.theta, names, opts);
    if (ratings === null) continue;
    usableRounds++;
    names.forEach((name, k) => samples.get(name)?.push(ratings[k] as number));
  }

  const counts = new Map<string, { battles: number; wins: number; losses: number; ties: number }>();
  const tally = (name: string) => {
    let c = counts.get(name);
    if (!c) counts.set(name, (c = { battles: 0, wins: 0, losses: 0, ties: 0 }));
    return c;
  };
  for (const b of battles) {
    const ca = tally(b.a);
    const cb = tally(b.b);
    ca.battles++;
    cb.battles++;
    if (b.winner === "tie") {
      ca.ties++;
      cb.ties++;
    } else if (b.winner === "a") {
      ca.wins++;
      cb.losses++;
    } else {
      cb.wins++;
      ca.losses++;
    }
  }

  const lowQ = (1 - confidence) / 2;
  const rows = fit.ratings.map((r) => {
    const sorted = (samples.get(r.source) ?? []).sort((x, y) => x - y);
    const c = counts.get(r.source) ?? { battles: 0, wins: 0, losses: 0, ties: 0 };
    return {
      source: r.source,
      rating: r.rating,
      lower: quantileSorted(sorted, lowQ),
      upper: quantileSorted(sorted, 1 - lowQ),
      bootstrapMedian: quantileSorted(sorted, 0.5),
      bootstrapSamples: sorted.length,
      rank: 0,
      ...c,
    };
  });
  const ranks = ranksFromIntervals(rows);
  rows.forEach((row, k) => (row.rank = ranks[k] as number));
  return { rows, fit, rounds, usableRounds, nonIdentifiableRounds };
}

/** A battle outcome with how many times it happened (the leaderboard's rollup cells). */
export interface BattleCount extends Battle {
  count: number;
}

/** A standard normal draw (Box–Muller) from `rng`. */
function normal(rng: () => number): number {
  let u = 0;
  while (u === 0) u = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/**
 * Binomial(n, p) draw: exact by inversion while the mean is small, else the normal approximation
 * with continuity correction (n·p·(1−p) ≥ 25, where its error is far below the bootstrap's own).
 */
function binomial(rng: () => number, n: number, p: number): number {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  const q = 1 - p;
  const v = n * p * q;
  if (v >= 25) return Math.min(n, Math.max(0, Math.round(n * p + Math.sqrt(v) * normal(rng))));
  if (p > 0.5) return n - binomial(rng, n, q);
  // inversion: walk the pmf from 0 (mean < 50 here)
  const u = rng();
  let k = 0;
  let pk = Math.pow(q, n);
  let cum = pk;
  while (cum < u && k < n) {
    pk *= ((n - k) / (k + 1)) * (p / q);
    k++;
    cum += pk;
  }
  return k;
}

/**
 * The leaderboard of {@link bradleyTerryLeaderboard} from battle counts instead of a list of
 * battles: the same point ratings (the fit only ever sees per-pair totals, which counts give
 * exactly), and bootstrap intervals from resampling the counts — each round draws the total
 * number of battles with replacement as a multinomial over the cells (by conditional binomials),
 * which is the battle bootstrap's distribution; the draws differ from the battle version's, so
 * intervals agree only up to resampling noise. Cost: rounds × (cells + a Newton fit), whatever
 * the number of battles.
 */
export function bradleyTerryLeaderboardFromCounts(
  cells: ReadonlyArray<BattleCount>,
  options: LeaderboardOptions = {},
): Leaderboard {
  const opts = resolve(options);
  const rounds = options.rounds ?? 100;
  const confidence = options.confidence ?? 0.95;
  if (!Number.isInteger(rounds) || rounds < 0)
    throw new RangeError(`bradleyTerryLeaderboard: rounds must be a non-negative integer`);
  if (!(confidence > 0 && confidence < 1))
    throw new RangeError(`bradleyTerryLeaderboard: confidence must be in (0, 1)`);
  // Index the cells as indexBattles indexes battles: sources by first appearance.
  const sourceIndex = new Map<string, number>();
  const sources: string[] = [];
  const pairIndex = new Map<number, number>();
  const pairI: number[] = [];
  const pairJ: number[] = [];
  const cellPair: number[] = [];
  const cellScore: number[] = [];
  const cellCount: number[] = [];
  const idx = (name: string): number => {
    let k = sourceIndex.get(name);
    if (k === undefined) {
      k = sources.length;
      sourceIndex.set(name, k);
      sources.push(name);
    }
    return k;
  };
  cells.forEach((cell, n) => {
    if (cell.a === cell.b) throw new Error(`bradleyTerry: cell ${n} pits "${cell.a}" against itself`);
    if (!(cell.count > 0)) return;
    if (cell.winner === "tie" && opts.ties === "exclude") return;
    const ia = idx(cell.a);
    const ib = idx(cell.b);
    const lo = Math.min(ia, ib);
    const hi = Math.max(ia, ib);
    const key = lo * 0x200000 + hi;
    let p = pairIndex.get(key);
    if (p === undefined) {
      p = pairI.length;
      pairIndex.set(key, p);
      pairI.push(lo);
      pairJ.push(hi);
    }
    const scoreA = cell.winner === "a" ? 1 : cell.winner === "b" ? 0 : 0.5;
    cellPair.push(p);
    cellScore.push(ia === lo ? scoreA : 1 - scoreA);
    cellCount.push(cell.count);
  });
  const ix: Indexed = {
    sources,
    battlePair: new Int32Array(0),
    battleScore: new Float64Array(0),
    pairI: Int32Array.from(pairI),
    pairJ: Int32Array.from(pairJ),
  };
  const tableOf = (counts: ArrayLike<number>) => {
    const n = new Float64Array(pairI.length);
    const s = new Float64Array(pairI.length);
    for (let c = 0; c < cellPair.length; c++) {
      const p = cellPair[c] as number;
      const k = counts[c] as number;
      n[p] = (n[p] as number) + k;
      s[p] = (s[p] as number) + k * (cellScore[c] as number);
    }
    return compactTable(ix, n, s);
  };

  const total = cellCount.reduce((a, b) => a + b, 0);
  const { table, kept } = tableOf(cellCount);
  const names = kept.map((g) => sources[g] as string);
  const th = fitTheta(table, opts);
  const full = toRatings(th.theta, names, opts);
  if (full === null) throw new Error(`bradleyTerry: anchor source "${opts.anchor?.source}" has no battles`);
  const fitRows: BradleyTerryRating[] = names.map((source, k) => ({
    source,
    rating: full[k] as number,
    theta: th.theta[k] as number,
  }));
  fitRows.sort((x, y) => y.rating - x.rating || (x.source < y.source ? -1 : 1));
  const fit: BradleyTerryFit = {
    ratings: fitRows,
    ratingBySource: Object.fromEntries(fitRows.map((r) => [r.source, r.rating])),
    identifiable: th.identifiable,
    l2: th.l2,
    converged: th.converged,
    iterations: th.iterations,
    logLikelihood: th.logLikelihood,
    battles: total,
  };

  const samples = new Map<string, number[]>(fit.ratings.map((r) => [r.source, []]));
  const rng = createRng(options.seed ?? 42);
  const drawn = new Float64Array(cellCount.length);
  let usableRounds = 0;
  let nonIdentifiableRounds = 0;
  for (let r = 0; r < rounds && total > 0; r++) {
    let left = total;
    let mass = total;
    for (let c = 0; c < cellCount.length; c++) {
      const k = c === cellCount.length - 1 ? left : binomial(rng, left, (cellCount[c] as number) / mass);
      drawn[c] = k;
      left -= k;
      mass -= cellCount[c] as number;
    }
    const t = tableOf(drawn);
    const bnames = t.kept.map((g) => sources[g] as string);
    const bt = fitTheta(t.table, opts);
    if (!bt.identifiable) nonIdentifiableRounds++;
    const ratings = toRatings(bt.theta, bnames, opts);
    if (ratings === null) continue;
    usableRounds++;
    bnames.forEach((name, k) => samples.get(name)?.push(ratings[k] as number));
  }

  const counts = new Map<string, { battles: number; wins: number; losses: number; ties: number }>();
  const tally = (name: string) => {
    let c = counts.get(name);
    if (!c) counts.set(name, (c = { battles: 0, wins: 0, losses: 0, ties: 0 }));
    return c;
  };
  for (const b of cells) {
    if (!(b.count > 0)) continue;
    const ca = tally(b.a);
    const cb = tally(b.b);
    ca.battles += b.count;
    cb.battles += b.count;
    if (b.winner === "tie") {
      ca.ties += b.count;
      cb.ties += b.count;
    } else if (b.winner === "a") {
      ca.wins += b.count;
      cb.losses += b.count;
    } else {
      cb.wins += b.count;
      ca.losses += b.count;
    }
  }
  const lowQ = (1 - confidence) / 2;
  const rows = fit.ratings.map((r) => {
    const sorted = (samples.get(r.source) ?? []).sort((x, y) => x - y);
    const c = counts.get(r.source) ?? { battles: 0, wins: 0, losses: 0, ties: 0 };
    return {
      source: r.source,
      rating: r.rating,
      lower: quantileSorted(sorted, lowQ),
      upper: quantileSorted(sorted, 1 - lowQ),
      bootstrapMedian: quantileSorted(sorted, 0.5),
      bootstrapSamples: sorted.length,
      rank: 0,
      ...c,
    };
  });
  const ranks = ranksFromIntervals(rows);
  rows.forEach((row, k) => (row.rank = ranks[k] as number));
  return { rows, fit, rounds, usableRounds, nonIdentifiableRounds };
}
