// Dashboard figures from judgment rows, as pure functions (the loader is dashboard.ts). The
// statistics themselves come from server/stats; this file decides what feeds them:
//  - a unit of agreement is one unordered pair of completions of one comparison, rated
//    +1 (the canonically first completion is preferred), −1 (the second), 0 (tie or both bad);
//    a K-way ranking rates every pair it ranks, so K-way projects get K(K−1)/2 units per comparison;
//  - Krippendorff's alpha (ordinal) takes every unit rated by at least two annotators, however many;
//    Fleiss' kappa takes only the units rated by exactly `overlap` annotators (it needs a fixed count);
//  - agreement with others: over the units an annotator rated, the share of (their rating, another
//    annotator's rating) pairs that are equal;
//  - position bias: among decisive two-way votes, how often the completion shown first (left) won;
//  - length bias: among decisive two-way votes of unequal lengths, how often the longer one won;
//  - the leaderboard: each judgment is a battle per pair of completions from different sources.
import {
  fleissKappa,
  krippendorffAlpha,
  lengthBias,
  median,
  positionBias,
  type Battle,
  type LengthVote,
  type PositionVote,
} from "@/server/stats";
import type { Verdict } from "@/server/data/verdict";

export interface VoteRow {
  judgmentId: string;
  comparisonId: string;
  /** Canonical (stored) order of the comparison's completions. */
  completionIds: string[];
  userId: string;
  verdict: Verdict;
  /** Order shown to this annotator (empty when unknown, e.g. imports). */
  displayOrder: string[];
  timeSpentMs: number | null;
  isGoldCheck: boolean;
  goldCorrect: boolean | null;
  createdAt: Date;
}

export type Rating = -1 | 0 | 1;

/** Ratings of each pair (i < j, canonical positions) a verdict speaks about. */
export function pairRatings(
  verdict: Verdict,
  completionIds: readonly string[],
): Array<{ i: number; j: number; rating: Rating }> {
  const pos = new Map(completionIds.map((id, k) => [id, k] as const));
  const out: Array<{ i: number; j: number; rating: Rating }> = [];
  if (verdict.kind === "pairwise") {
    if (verdict.outcome === "win") {
      const w = pos.get(verdict.winnerId);
      const l = pos.get(verdict.loserId);
      if (w === undefined || l === undefined) return out;
      out.push(w < l ? { i: w, j: l, rating: 1 } : { i: l, j: w, rating: -1 });
    } else {
      for (let i = 0; i < completionIds.length; i++)
        for (let j = i + 1; j < completionIds.length; j++) out.push({ i, j, rating: 0 });
    }
    return out;
  }
  const place = new Map<number, number>();
  verdict.ranking.forEach((group, g) => group.forEach((id) => pos.has(id) && place.set(pos.get(id)!, g)));
  const ranked = [...place.keys()].sort((a, b) => a - b);
  for (let x = 0; x < ranked.length; x++) {
    for (let y = x + 1; y < ranked.length; y++) {
      const i = ranked[x]!;
      const j = ranked[y]!;
      const d = place.get(i)! - place.get(j)!;
      out.push({ i, j, rating: d < 0 ? 1 : d > 0 ? -1 : 0 });
    }
  }
  return out;
}

/** unit key → annotator → rating. Later judgments by the same annotator on a unit replace earlier. */
export function ratingUnits(rows: readonly VoteRow[]): Map<string, Map<string, Rating>> {
  const units = new Map<string, Map<string, Rating>>();
  const sorted = [...rows].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  for (const r of sorted) {
    for (const p of pairRatings(r.verdict, r.completionIds)) {
      const key = `${r.comparisonId}:${p.i}:${p.j}`;
      let u = units.get(key);
      if (!u) units.set(key, (u = new Map()));
      u.set(r.userId, p.rating);
    }
  }
  return units;
}

export interface ProjectAgreement {
  /** Ordinal Krippendorff's alpha; null when no unit has two ratings or all ratings agree trivially. */
  alpha: number | null;
  alphaUnits: number;
  alphaRatings: number;
  /** Fleiss' kappa on the units with exactly `overlap` ratings; null when overlap < 2 or none. */
  kappa: number | null;
  kappaUnits: number;
  kappaRaters: number;
  /** Share of rater pairs within units that agree (raw agreement). */
  pairwiseAgreement: number | null;
}

export function projectAgreement(rows: readonly VoteRow[], overlap: number): ProjectAgreement {
  const units = [...ratingUnits(rows).values()].map((u) => [...u.values()]);
  const pairable = units.filter((u) => u.length >= 2);
  const a = krippendorffAlpha(pairable, "ordinal");
  let kappa: number | null = null;
  let kappaUnits = 0;
  if (overlap >= 2) {
    const fixed = units.filter((u) => u.length === overlap);
    kappaUnits = fixed.length;
    if (fixed.length) {
      const counts = fixed.map((u) => [-1, 0, 1].map((c) => u.filter((v) => v === c).length));
      const k = fleissKappa(counts).kappa;
      kappa = Number.isFinite(k) ? k : null;
    }
  }
  let agree = 0;
  let pairs = 0;
  for (const u of pairable) {
    for (let x = 0; x < u.length; x++) {
      for (let y = x + 1; y < u.length; y++) {
        pairs++;
        if (u[x] === u[y]) agree++;
      }
    }
  }
  return {
    alpha: Number.isFinite(a.alpha) ? a.alpha : null,
    alphaUnits: a.pairableUnits,
    alphaRatings: a.pairableValues,
    kappa,
    kappaUnits,
    kappaRaters: overlap,
    pairwiseAgreement: pairs ? agree / pairs : null,
  };
}

export interface AnnotatorStats {
  userId: string;
  items: number;
  medianSeconds: number | null;
  gold: { done: number; correct: number; accuracy: number | null };
  /** Share of (own rating, other's rating) pairs on shared units that agree. */
  agreement: { rate: number | null; comparisons: number };
  /** How often the first-shown (left) completion won, among decisive two-way votes. */
  positionBias: { rate: number | null; considered: number; lower: number | null; upper: number | null };
  /** How often the longer completion won, among decisive two-way votes of unequal length. */
  lengthBias: { rate: number | null; considered: number; lower: number | null; upper: number | null };
}

function twoWayWinner(v: Verdict, completionIds: readonly string[]): "a" | "b" | "tie" | null {
  if (v.kind !== "pairwise" || completionIds.length !== 2) return null;
  if (v.outcome !== "win") return "tie";
  return v.winnerId === completionIds[0] ? "a" : "b";
}

export function annotatorStats(
  rows: readonly VoteRow[],
  lengths: ReadonlyMap<string, number>,
): AnnotatorStats[] {
  const units = ratingUnits(rows);
  const byUser = new Map<string, VoteRow[]>();
  for (const r of rows) {
    const list = byUser.get(r.userId) ?? [];
    list.push(r);
    byUser.set(r.userId, list);
  }
  const out: AnnotatorStats[] = [];
  for (const [userId, list] of byUser) {
    const times = list.flatMap((r) => (r.timeSpentMs === null ? [] : [r.timeSpentMs]));
    const gold = list.filter((r) => r.isGoldCheck && r.goldCorrect !== null);
    const correct = gold.filter((r) => r.goldCorrect).length;

    let agree = 0;
    let compared = 0;
    for (const u of units.values()) {
      const mine = u.get(userId);
      if (mine === undefined) continue;
      for (const [other, v] of u) {
        if (other === userId) continue;
        compared++;
        if (v === mine) agree++;
      }
    }

    const positions: PositionVote[] = [];
    const lengthVotes: LengthVote[] = [];
    for (const r of list) {
      const winner = twoWayWinner(r.verdict, r.completionIds);
      if (winner === null) continue;
      const [a, b] = r.completionIds as [string, string];
      if (r.displayOrder.length === 2)
        positions.push({ winner, shownFirst: r.displayOrder[0] === a ? "a" : "b" });
      const la = lengths.get(a);
      const lb = lengths.get(b);
      if (la !== undefined && lb !== undefined) lengthVotes.push({ winner, lengthA: la, lengthB: lb });
    }
    const pb = positionBias(positions).firstWins;
    const lb = lengthBias(lengthVotes).longerWins;
    out.push({
      userId,
      items: list.length,
      medianSeconds: times.length ? median(times) / 1000 : null,
      gold: { done: gold.length, correct, accuracy: gold.length ? correct / gold.length : null },
      agreement: { rate: compared ? agree / compared : null, comparisons: compared },
      positionBias: {
        rate: pb.considered ? pb.hits / pb.considered : null,
        considered: pb.considered,
        lower: pb.considered ? pb.lower : null,
        upper: pb.considered ? pb.upper : null,
      },
      lengthBias: {
        rate: lb.considered ? lb.hits / lb.considered : null,
        considered: lb.considered,
        lower: lb.considered ? lb.lower : null,
        upper: lb.considered ? lb.upper : null,
      },
    });
  }
  return out.sort((x, y) => y.items - x.items || (x.userId < y.userId ? -1 : 1));
}

/** Judgments per local day over the last `days` days (oldest first, zero-filled). */
export function throughput(
  dates: readonly Date[],
  opts: { now: Date; days: number; tzOffsetMinutes?: number },
): Array<{ day: string; count: number }> {
  return throughputFromCounts(
    dates.map((d) => ({ at: d, count: 1 })),
    opts,
  );
}

/**
 * The same from counts of judgments at given times (a time stands for all of its count: the
 * dashboard passes the starts of 15-minute buckets, which fall on one local day in every zone).
 */
export function throughputFromCounts(
  counted: ReadonlyArray<{ at: Date; count: number }>,
  opts: { now: Date; days: number; tzOffsetMinutes?: number },
): Array<{ day: string; count: number }> {
  const tz = opts.tzOffsetMinutes ?? 0;
  const dayOf = (d: Date) => new Date(d.getTime() - tz * 60_000).toISOString().slice(0, 10);
  const counts = new Map<string, number>();
  for (const { at, count } of counted) counts.set(dayOf(at), (counts.get(dayOf(at)) ?? 0) + count);
  const out: Array<{ day: string; count: number }> = [];
  const today = new Date(`${dayOf(opts.now)}T00:00:00Z`);
  for (let i = opts.days - 1; i >= 0; i--) {
    const d = new Date(today.getTime() - i * 86_400_000).toISOString().slice(0, 10);
    out.push({ day: d, count: counts.get(d) ?? 0 });
  }
  return out;
}

/**
 * Battles between completion sources: each judgment yields one battle per pair of completions it
 * rates whose sources differ (a tie or "both bad" is a tie, as in Chatbot Arena).
 */
export function battles(
  rows: ReadonlyArray<Pick<VoteRow, "verdict" | "completionIds">>,
  sourceOf: ReadonlyMap<string, string>,
): Battle[] {
  const out: Battle[] = [];
  for (const r of rows) {
    for (const p of pairRatings(r.verdict, r.completionIds)) {
      const a = sourceOf.get(r.completionIds[p.i]!);
      const b = sourceOf.get(r.completionIds[p.j]!);
      if (!a || !b || a === b) continue;
      out.push({ a, b, winner: p.rating === 1 ? "a" : p.rating === -1 ? "b" : "tie" });
    }
  }
  return out;
}
