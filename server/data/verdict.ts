// A judgment's verdict, stored in completion ids so it does not depend on the order shown.
// Shared contract between the annotation UI, AI judges, imports and aggregation.
import { z } from "zod";

export const Strength = z.union([z.literal(1), z.literal(2)]); // 1 = slightly better, 2 = much better

export const PairwiseVerdict = z.discriminatedUnion("outcome", [
  z.object({
    kind: z.literal("pairwise"),
    outcome: z.literal("win"),
    winnerId: z.string().min(1),
    loserId: z.string().min(1),
    strength: Strength.default(1),
    /**
     * Explicit reward margin for the pair, when the source had one (an imported TRL row's
     * `margin`); otherwise the pair's margin is the strength.
     */
    margin: z.number().finite().optional(),
  }),
  z.object({ kind: z.literal("pairwise"), outcome: z.literal("tie") }),
  z.object({ kind: z.literal("pairwise"), outcome: z.literal("both_bad") }),
]);
export type PairwiseVerdict = z.infer<typeof PairwiseVerdict>;

/**
 * K-way ranking: groups best-first; completions in one group are tied. Completions left out are
 * unranked (a partial ranking), when the project allows it.
 */
export const RankingVerdict = z.object({
  kind: z.literal("ranking"),
  ranking: z.array(z.array(z.string().min(1)).min(1)).min(1),
});
export type RankingVerdict = z.infer<typeof RankingVerdict>;

export const Verdict = z.union([PairwiseVerdict, RankingVerdict]);
export type Verdict = z.infer<typeof Verdict>;

/** Judgment provenance, as a discriminated union (STYLE.md #6). */
export type JudgmentOrigin =
  | { kind: "human"; userId: string }
  | { kind: "ai"; judgeConfigId: string; judgeRunId?: string }
  | { kind: "import" }
  | { kind: "adjudication"; userId: string };
