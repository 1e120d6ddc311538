/**
 * Annotator / judge bias figures for pairwise comparisons.
 *
 * Each figure is a simple proportion over the relevant votes, returned with a
 * Wilson 95% interval so small samples are not over-read. 0.5 is the
 * unbiased value for position and length bias; 0 is ideal for
 * swap-inconsistency. Proportions with an empty denominator are `NaN`.
 */
import type { PairwiseVerdict } from "./kappa";
import { wilsonInterval, type ProportionInterval } from "./descriptive";

/** A proportion with counts and interval. */
export interface BiasRate extends ProportionInterval {
  /** Numerator: votes showing the tendency measured. */
  hits: number;
  /** Denominator: votes that could show it. */
  considered: number;
}

function rate(hits: number, considered: number): BiasRate {
  return { hits, considered, ...wilsonInterval(hits, considered) };
}

export interface PositionVote {
  /** Which completion won ("tie" votes are counted but not in the rate). */
  winner: PairwiseVerdict;
  /** Which completion was shown first (left / top). */
  shownFirst: "a" | "b";
}

export interface PositionBias {
  /** Fraction of decisive votes won by the first-shown side (0.5 = unbiased). */
  firstWins: BiasRate;
  /** Votes ignored because they were ties. */
  ties: number;
}

/**
 * Position bias: among decisive (non-tie) votes, the share in which the
 * completion shown first (left/top) won. Meaningful when display order is
 * randomised, so an unbiased annotator sits near 0.5.
 */
export function positionBias(votes: ReadonlyArray<PositionVote>): PositionBias {
  let hits = 0;
  let decisive = 0;
  let ties = 0;
  for (const v of votes) {
    if (v.winner === "tie") {
      ties++;
      continue;
    }
    decisive++;
    if (v.winner === v.shownFirst) hits++;
  }
  return { firstWins: rate(hits, decisive), ties };
}

export interface LengthVote {
  winner: PairwiseVerdict;
  /** Length of completion A (characters or tokens — be consistent). */
  lengthA: number;
  /** Length of completion B, same unit as `lengthA`. */
  lengthB: number;
}

export interface LengthBias {
  /** Fraction of decisive, unequal-length votes won by the longer completion (0.5 = no length preference). */
  longerWins: BiasRate;
  /** Votes ignored because they were ties. */
  ties: number;
  /** Decisive votes ignored because both completions had the same length. */
  equalLength: number;
}

/**
 * Length bias: among decisive votes between completions of different length,
 * the share in which the longer completion won. Note this mixes genuine
 * quality (longer answers are sometimes better) with bias; compare judges
 * against humans on the same items rather than reading it against 0.5 alone.
 */
export function lengthBias(votes: ReadonlyArray<LengthVote>): LengthBias {
  let hits = 0;
  let considered = 0;
  let ties = 0;
  let equalLength = 0;
  for (const v of votes) {
    if (v.winner === "tie") {
      ties++;
      continue;
    }
    if (v.lengthA === v.lengthB) {
      equalLength++;
      continue;
    }
    considered++;
    const longer = v.lengthA > v.lengthB ? "a" : "b";
    if (v.winner === longer) hits++;
  }
  return { longerWins: rate(hits, considered), ties, equalLength };
}

/** A verdict in terms of display position rather than completion identity. */
export type PositionalVerdict = "first" | "second" | "tie";

/**
 * One comparison judged twice, once in each order. Both verdicts are
 * positional, as the judge emitted them: `forward` with A shown first,
 * `reversed` with B shown first.
 */
export interface SwapPair {
  forward: PositionalVerdict;
  reversed: PositionalVerdict;
}

/** Maps a positional verdict to completion identity, given which completion was shown first. */
export function unswap(verdict: PositionalVerdict, shownFirst: "a" | "b"): PairwiseVerdict {
  if (verdict === "tie") return "tie";
  const other = shownFirst === "a" ? "b" : "a";
  return verdict === "first" ? shownFirst : other;
}

export interface SwapInconsistency {
  /**
   * Fraction of double-judged comparisons whose two verdicts disagree after
   * un-swapping (a decisive verdict vs a tie counts as a disagreement).
   */
  inconsistent: BiasRate;
  /**
   * Fraction in which the judge picked the same *position* both times with a
   * decisive verdict (first/first or second/second) — the signature of pure
   * position bias, a subset of `inconsistent`.
   */
  samePosition: BiasRate;
}

/**
 * Swap-inconsistency of a judge that rated each comparison in both orders.
 * A consistent judge prefers the same completion whichever side it is on.
 */
export function swapInconsistency(pairs: ReadonlyArray<SwapPair>): SwapInconsistency {
  let inconsistent = 0;
  let samePosition = 0;
  for (const p of pairs) {
    if (unswap(p.forward, "a") !== unswap(p.reversed, "b")) inconsistent++;
    if (p.forward !== "tie" && p.forward === p.reversed) samePosition++;
  }
  return { inconsistent: rate(inconsistent, pairs.length), samePosition: rate(samePosition, pairs.length) };
}
