// From judgments to preference pairs: the one aggregation rule, as a pure function.
//
// Every verdict is read as votes on the comparison's unordered completion pairs {a, b}:
//  - a pairwise win votes "winner" on {winner, loser} with margin = verdict.margin ?? strength;
//    a pairwise tie / both-bad votes "tie" / "both_bad" on every pair of the comparison;
//  - a K-way ranking (groups best-first) votes on every pair it ranks: the better group wins with
//    margin = the distance between the two groups (1 for neighbours); same group = "tie";
//    a completion left out of a partial ranking does not vote on its pairs.
// Decision, in this order:
//  1. an adjudication (the latest active one) decides the comparison outright -> "adjudicated";
//  2. imported judgments stand for a finished consensus: one decides alone -> "complete"; several
//     (a file that holds the same comparison twice with different preferences: two votes) are
//     tallied among themselves as in 5, whatever the overlap -> "complete" or "review";
//  3. an active flag from a counted judgment -> "flagged" (no pairs until a reviewer rules);
//  4. fewer counted judgments than the project's overlap -> "open" (no pairs yet);
//  5. otherwise each voted pair needs a strict majority of vote weight (majority: 1 per judgment;
//     weighted: the voter's weight, e.g. gold accuracy, times the strength when asked). A pair
//     without one, or a comparison whose agreement is under `reviewAgreementBelow`, sends the
//     comparison to "review" with no pairs; else it is "complete".
// Only "winner" consensuses become pairs: ties and both-bad never do. A comparison that yields P
// pairs gives each the weight 1/P, so a K-way ranking's K(K-1)/2 pairs together count as one
// comparison, as InstructGPT trained them (one batch element per ranking).
// Agreement is the share of counted judgments (by count) that voted with the pair's consensus;
// a comparison's agreement is the mean over its voted pairs.
import type { ComparisonStatus, JudgmentSource } from "@prisma/client";
import type { Verdict } from "./verdict";

export type ConsensusRule = "majority" | "weighted";

export interface AggregationSettings {
  overlap: number;
  consensusRule: ConsensusRule;
  aiCountsTowardConsensus: boolean;
  /** Agreement below this sends a comparison to review (ProjectSettings.reviewAgreementBelow). */
  reviewAgreementBelow: number;
  /** Weighted rule only: multiply a win's vote by its strength (1 or 2). */
  weightByStrength: boolean;
}

export interface JudgmentVote {
  id: string;
  source: JudgmentSource;
  verdict: Verdict;
  createdAt: Date;
  flag?: string | null;
  /** The voter's weight under the weighted rule (gold accuracy, ...); ignored by majority. */
  voterWeight?: number;
}

export type PairOrigin = "human" | "ai" | "mixed" | "import";

export interface AggregatedPair {
  chosenId: string;
  rejectedId: string;
  margin: number;
  weight: number;
  agreement: number;
  judgmentIds: string[];
  origin: PairOrigin;
}

export interface Aggregation {
  status: ComparisonStatus;
  agreement: number | null;
  /** Judgments counted toward overlap: human, AI when the project says so, and imported. */
  judgmentCount: number;
  decidedBy: "adjudication" | "import" | "votes" | null;
  pairs: AggregatedPair[];
}

export type VoteCategory = "first" | "second" | "tie" | "both_bad";

export interface PairVote {
  /** The unordered pair's completion ids, in the comparison's canonical order. */
  first: string;
  second: string;
  category: VoteCategory;
  margin: number;
}

/** Read a verdict as votes on unordered pairs of `completionIds` (canonical order). */
export function verdictVotes(verdict: Verdict, completionIds: readonly string[]): PairVote[] {
  const votes: PairVote[] = [];
  const pairs = (fn: (a: string, b: string) => PairVote | null) => {
    for (let i = 0; i < completionIds.length; i++) {
      for (let j = i + 1; j < completionIds.length; j++) {
        const v = fn(completionIds[i]!, completionIds[j]!);
        if (v) votes.push(v);
      }
    }
  };
  if (verdict.kind === "ranking") {
    const group = new Map<string, number>();
    verdict.ranking.forEach((g, gi) => g.forEach((id) => group.set(id, gi)));
    pairs((a, b) => {
      const ga = group.get(a);
      const gb = group.get(b);
      if (ga === undefined || gb === undefined) return null;
      if (ga === gb) return { first: a, second: b, category: "tie", margin: 0 };
      return ga < gb
        ? { first: a, second: b, category: "first", margin: gb - ga }
        : { first: a, second: b, category: "second", margin: ga - gb };
    });
  } else if (verdict.outcome === "win") {
    const margin = verdict.margin ?? verdict.strength;
    pairs((a, b) => {
      if (a === verdict.winnerId && b === verdict.loserId)
        return { first: a, second: b, category: "first", margin };
      if (b === verdict.winnerId && a === verdict.loserId)
        return { first: a, second: b, category: "second", margin };
      return null;
    });
  } else {
    const category = verdict.outcome;
    pairs((a, b) => ({ first: a, second: b, category, margin: 0 }));
  }
  return votes;
}

/** Does a judgment agree with a known (gold) answer on every pair the answer decides? */
export function matchesGold(verdict: Verdict, gold: Verdict, completionIds: readonly string[]): boolean {
  const mine = new Map(
    verdictVotes(verdict, completionIds).map((v) => [`${v.first}|${v.second}`, v.category]),
  );
  const want = verdictVotes(gold, completionIds);
  return want.length > 0 && want.every((v) => mine.get(`${v.first}|${v.second}`) === v.category);
}

function originOf(sources: Iterable<JudgmentSource>): PairOrigin {
  const s = new Set<string>();
  for (const src of sources) s.add(src === "adjudication" ? "human" : src);
  return s.size === 1 ? ([...s][0] as PairOrigin) : "mixed";
}

function latest(votes: JudgmentVote[]): JudgmentVote | undefined {
  return [...votes].sort(
    (a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1),
  )[0];
}

/** Pairs from one judgment that decides the comparison by itself (adjudication, import). */
function decide(j: JudgmentVote, completionIds: readonly string[]): AggregatedPair[] {
  const wins = verdictVotes(j.verdict, completionIds).filter(
    (v) => v.category === "first" || v.category === "second",
  );
  return wins.map((v) => ({
    chosenId: v.category === "first" ? v.first : v.second,
    rejectedId: v.category === "first" ? v.second : v.first,
    margin: v.margin,
    weight: 1 / wins.length,
    agreement: 1,
    judgmentIds: [j.id],
    origin: originOf([j.source]),
  }));
}

export function aggregate(
  completionIds: readonly string[],
  judgments: readonly JudgmentVote[],
  settings: AggregationSettings,
): Aggregation {
  const counts = (j: JudgmentVote) =>
    j.source === "human" || j.source === "import" || (j.source === "ai" && settings.aiCountsTowardConsensus);
  const counted = judgments.filter(counts);
  const judgmentCount = counted.length;

  const adjudication = latest(judgments.filter((j) => j.source === "adjudication"));
  if (adjudication)
    return {
      status: "adjudicated",
      agreement: 1,
      judgmentCount,
      decidedBy: "adjudication",
      pairs: decide(adjudication, completionIds),
    };

  const imported = counted.filter((j) => j.source === "import");
  if (imported.length === 1)
    return {
      status: "complete",
      agreement: 1,
      judgmentCount,
      decidedBy: "import",
      pairs: decide(imported[0]!, completionIds),
    };
  if (imported.length > 1) {
    const t = tally(completionIds, imported, { ...settings, consensusRule: "majority" });
    return { ...t, judgmentCount, decidedBy: t.status === "complete" ? "import" : null };
  }

  if (counted.some((j) => j.flag))
    return { status: "flagged", agreement: null, judgmentCount, decidedBy: null, pairs: [] };
  if (judgmentCount < Math.max(1, settings.overlap))
    return { status: "open", agreement: null, judgmentCount, decidedBy: null, pairs: [] };
  const t = tally(completionIds, counted, settings);
  return { ...t, judgmentCount, decidedBy: t.status === "complete" ? "votes" : null };
}

/** Step 5: a strict majority of vote weight on every voted pair, else "review". */
function tally(
  completionIds: readonly string[],
  counted: readonly JudgmentVote[],
  settings: AggregationSettings,
): Pick<Aggregation, "status" | "agreement" | "pairs"> {
  // Votes per unordered pair, in canonical order.
  interface Ballot extends PairVote {
    judgment: JudgmentVote;
    weight: number;
  }
  const byPair = new Map<string, Ballot[]>();
  for (const j of counted) {
    for (const v of verdictVotes(j.verdict, completionIds)) {
      let weight = 1;
      if (settings.consensusRule === "weighted") {
        weight = Math.max(0, j.voterWeight ?? 1);
        if (settings.weightByStrength && (v.category === "first" || v.category === "second"))
          weight *= Math.max(1, v.margin);
      }
      const key = `${v.first}|${v.second}`;
      const list = byPair.get(key) ?? [];
      list.push({ ...v, judgment: j, weight });
      byPair.set(key, list);
    }
  }
  if (byPair.size === 0) return { status: "review", agreement: null, pairs: [] };

  const winners: Array<Omit<AggregatedPair, "weight">> = [];
  let agreementSum = 0;
  let everyPairDecided = true;
  for (const ballots of byPair.values()) {
    const total = ballots.reduce((s, b) => s + b.weight, 0);
    const byCategory = new Map<VoteCategory, number>();
    for (const b of ballots) byCategory.set(b.category, (byCategory.get(b.category) ?? 0) + b.weight);
    let best: VoteCategory | null = null;
    let bestWeight = -1;
    for (const [c, w] of byCategory) if (w > bestWeight) [best, bestWeight] = [c, w];
    const agreeing = ballots.filter((b) => b.category === best);
    agreementSum += agreeing.length / ballots.length;
    if (best === null || !(total > 0 && bestWeight > total / 2)) {
      everyPairDecided = false;
      continue;
    }
    if (best === "first" || best === "second") {
      const first = ballots[0]!.first;
      const second = ballots[0]!.second;
      winners.push({
        chosenId: best === "first" ? first : second,
        rejectedId: best === "first" ? second : first,
        margin: agreeing.reduce((s, b) => s + b.margin, 0) / agreeing.length,
        agreement: agreeing.length / ballots.length,
        judgmentIds: ballots.map((b) => b.judgment.id),
        origin: originOf(ballots.map((b) => b.judgment.source)),
      });
    }
  }
  const agreement = agreementSum / byPair.size;
  if (!everyPairDecided || agreement < settings.reviewAgreementBelow) {
    return { status: "review", agreement, pairs: [] };
  }
  return { status: "complete", agreement, pairs: winners.map((p) => ({ ...p, weight: 1 / winners.length })) };
}
