// How far to trust a judge: its agreement with humans wherever both judged the same comparisons,
// and its biases. All figures come from server/stats; this file only gathers the votes.
//  - agreement: Cohen's kappa with ties ({a, b, tie}) and on decisive votes only ({a, b}), and the
//    raw agreement rate, against the human reference of each overlapping pairwise comparison (an
//    adjudication if there is one, else the strict majority of human verdicts; both-bad counts as
//    tie; comparisons whose humans split evenly are left out and counted);
//  - position bias: over the judge's calls (each order of each comparison), how often the answer
//    shown first won among decisive verdicts (0.5 = none);
//  - length bias: among the judge's decisive verdicts between answers of different length (in
//    characters), how often the longer won; the humans' figure on the same overlap is given next
//    to it, since longer answers are sometimes simply better;
//  - swap inconsistency: comparisons judged in both orders whose verdicts disagree.
import { db } from "../db/client";
import { DomainError } from "../errors";
import { Verdict } from "../data/verdict";
import {
  lengthBias,
  positionBias,
  swapInconsistency,
  verdictAgreement,
  type LengthBias,
  type LengthVote,
  type PairwiseVerdict as Side,
  type PositionBias,
  type PositionVote,
  type SwapInconsistency,
  type SwapPair,
  type VerdictAgreement,
} from "../stats";
import { identityVerdict, positional, type JudgeOrder } from "./content";
import type { VerdictLetter } from "./verdict";

export interface AgreementReport {
  judgeConfigId: string;
  judgeName: string;
  /** The judge versions included (all, unless one was asked for). */
  versions: number[];
  /** Pairwise judgments of the judge in the project. */
  judgeJudgments: number;
  overlap: {
    /** Comparisons with both a human reference and a judge verdict. */
    n: number;
    /** Overlapping comparisons left out because the humans split evenly. */
    humansSplit: number;
    rawAgreement: number;
    agreement: VerdictAgreement;
  };
  positionBias: PositionBias & { calls: number };
  lengthBias: { judge: LengthBias; humansOnOverlap: LengthBias };
  swap: SwapInconsistency & { comparisons: number };
}

/** "a" = completionIds[0], "b" = completionIds[1]; null for anything but a two-way pairwise verdict. */
export function sideOf(verdict: unknown, completionIds: readonly string[]): Side | null {
  const v = Verdict.safeParse(verdict);
  if (!v.success || v.data.kind !== "pairwise" || completionIds.length !== 2) return null;
  if (v.data.outcome !== "win") return "tie"; // tie and both-bad: neither is preferred
  return v.data.winnerId === completionIds[0] ? "a" : "b";
}

/** The humans' verdict on a comparison: the latest adjudication, else a strict majority; null when split. */
export function humanReference(
  votes: readonly { source: string; side: Side; createdAt: Date }[],
): Side | null | "split" {
  const adjudications = votes
    .filter((v) => v.source === "adjudication")
    .sort((x, y) => y.createdAt.getTime() - x.createdAt.getTime());
  if (adjudications[0]) return adjudications[0].side;
  const human = votes.filter((v) => v.source === "human");
  if (!human.length) return null;
  const counts = new Map<Side, number>();
  for (const v of human) counts.set(v.side, (counts.get(v.side) ?? 0) + 1);
  const sorted = [...counts.entries()].sort((x, y) => y[1] - x[1]);
  if (sorted.length > 1 && sorted[0]![1] === sorted[1]![1]) return "split";
  return sorted[0]![0];
}

export async function judgeAgreementReport(input: {
  projectId: string;
  judgeConfigId: string;
  version?: number;
}): Promise<AgreementReport> {
  const cfg = await db().judgeConfig.findUnique({
    where: { id: input.judgeConfigId },
    select: { id: true, name: true },
  });
  if (!cfg) throw new DomainError("not_found", `No judge configuration ${input.judgeConfigId}.`);
  const versionFilter = input.version !== undefined ? { judgeVersion: input.version } : {};
  const runs = await db().judgeRun.findMany({
    where: { projectId: input.projectId, judgeConfigId: cfg.id, ...versionFilter },
    select: { id: true, judgeVersion: true },
  });
  const runIds = runs.map((r) => r.id);

  // The judge's final verdicts (one per comparison and version; the newest when several versions).
  const aiRows = await db().judgment.findMany({
    where: {
      projectId: input.projectId,
      judgeConfigId: cfg.id,
      source: "ai",
      supersededAt: null,
      ...(input.version !== undefined ? { judgeRunId: { in: runIds } } : {}),
    },
    select: { comparisonId: true, verdict: true, createdAt: true },
    orderBy: { createdAt: "asc" },
  });
  const comparisonIds = [...new Set(aiRows.map((r) => r.comparisonId))];
  const comparisons = await db().comparison.findMany({
    where: { id: { in: comparisonIds } },
    select: { id: true, completionIds: true },
  });
  const idsOf = new Map(comparisons.map((c) => [c.id, c.completionIds]));
  const judgeSide = new Map<string, Side>();
  for (const r of aiRows) {
    const s = sideOf(r.verdict, idsOf.get(r.comparisonId) ?? []);
    if (s) judgeSide.set(r.comparisonId, s); // later rows (newer versions) win
  }

  // Human reference on the same comparisons.
  const humanRows = await db().judgment.findMany({
    where: {
      comparisonId: { in: [...judgeSide.keys()] },
      source: { in: ["human", "adjudication"] },
      supersededAt: null,
    },
    select: { comparisonId: true, source: true, verdict: true, createdAt: true },
  });
  const byComparison = new Map<string, { source: string; side: Side; createdAt: Date }[]>();
  for (const h of humanRows) {
    const s = sideOf(h.verdict, idsOf.get(h.comparisonId) ?? []);
    if (!s) continue;
    const list = byComparison.get(h.comparisonId) ?? [];
    list.push({ source: h.source, side: s, createdAt: h.createdAt });
    byComparison.set(h.comparisonId, list);
  }
  const pairs: { comparisonId: string; reference: Side; judge: Side }[] = [];
  let humansSplit = 0;
  for (const [cid, votes] of byComparison) {
    const ref = humanReference(votes);
    if (ref === "split") humansSplit++;
    else if (ref) pairs.push({ comparisonId: cid, reference: ref, judge: judgeSide.get(cid) as Side });
  }
  const agreement = verdictAgreement(pairs);

  // Lengths of the answers, for the length-bias figures.
  const completionIds = [...judgeSide.keys()].flatMap((id) => idsOf.get(id) ?? []);
  const lengths = new Map<string, number>();
  for (let i = 0; i < completionIds.length; i += 5000) {
    const rows = await db().$queryRaw<Array<{ id: string; n: number }>>`
      SELECT id, char_length(text)::int AS n FROM "Completion" WHERE id = ANY(${completionIds.slice(i, i + 5000)})`;
    for (const r of rows) lengths.set(r.id, r.n);
  }
  const lengthVote = (cid: string, winner: Side): LengthVote | null => {
    const ids = idsOf.get(cid);
    if (!ids || ids.length !== 2) return null;
    return {
      winner,
      lengthA: lengths.get(ids[0] as string) ?? 0,
      lengthB: lengths.get(ids[1] as string) ?? 0,
    };
  };
  const judgeLength = lengthBias(
    [...judgeSide.entries()].map(([cid, s]) => lengthVote(cid, s)).filter((v): v is LengthVote => v !== null),
  );
  const humanLength = lengthBias(
    pairs.map((p) => lengthVote(p.comparisonId, p.reference)).filter((v): v is LengthVote => v !== null),
  );

  // Calls: position bias and swap consistency (LLM judges; other kinds have no display order).
  const attempts = runIds.length
    ? await db().judgeAttempt.findMany({
        where: {
          runId: { in: runIds },
          status: "ok",
          verdict: { in: ["A", "B", "C"] },
          run: { judgeConfig: { kind: "llm" } },
        },
        select: { runId: true, comparisonId: true, order: true, verdict: true },
      })
    : [];
  const positionVotes: PositionVote[] = attempts.map((a) => ({
    winner: identityVerdict(a.verdict as VerdictLetter, a.order as JudgeOrder),
    shownFirst: a.order === "AB" ? "a" : "b",
  }));
  const byCall = new Map<string, { AB?: VerdictLetter; BA?: VerdictLetter }>();
  for (const a of attempts) {
    const k = `${a.runId}\u0000${a.comparisonId}`;
    const e = byCall.get(k) ?? {};
    e[a.order as JudgeOrder] = a.verdict as VerdictLetter;
    byCall.set(k, e);
  }
  const swapPairs: SwapPair[] = [];
  for (const e of byCall.values())
    if (e.AB && e.BA) swapPairs.push({ forward: positional(e.AB), reversed: positional(e.BA) });

  return {
    judgeConfigId: cfg.id,
    judgeName: cfg.name,
    versions: [...new Set(runs.map((r) => r.judgeVersion))].sort((x, y) => x - y),
    judgeJudgments: judgeSide.size,
    overlap: { n: pairs.length, humansSplit, rawAgreement: agreement.withTies.observedAgreement, agreement },
    positionBias: { ...positionBias(positionVotes), calls: positionVotes.length },
    lengthBias: { judge: judgeLength, humansOnOverlap: humanLength },
    swap: { ...swapInconsistency(swapPairs), comparisons: swapPairs.length },
  };
}

/** NaN (an empty denominator) as null, for JSON. */
export function withoutNaN<T>(x: T): T {
  return JSON.parse(
    JSON.stringify(x, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v)),
  ) as T;
}
