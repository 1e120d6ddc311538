// What an annotator answers, in terms of what they saw (positions A, B, ...), and its translation
// into a Verdict in completion ids (server/data/verdict.ts), checked against the project's schema.
import { z } from "zod";
import { DomainError } from "@/server/errors";
import type { LabelSchema } from "@/server/projects/schema";
import { Verdict, type PairwiseVerdict, type RankingVerdict } from "@/server/data/verdict";

export const PairwiseChoice = z.enum(["A", "B", "tie", "both_bad"]);
export type PairwiseChoice = z.infer<typeof PairwiseChoice>;

export const PairwiseAnswer = z.object({
  kind: z.literal("pairwise"),
  choice: PairwiseChoice,
  /** 1 = slightly better, 2 = much better; only for A/B. */
  strength: z.union([z.literal(1), z.literal(2)]).optional(),
});
export type PairwiseAnswer = z.infer<typeof PairwiseAnswer>;

export const RankingAnswer = z.object({
  kind: z.literal("ranking"),
  /** Groups best-first, of completion ids as served; one group holds tied completions. */
  ranking: z.array(z.array(z.string().min(1)).min(1)).min(1),
});
export type RankingAnswer = z.infer<typeof RankingAnswer>;

export const Answer = z.discriminatedUnion("kind", [PairwiseAnswer, RankingAnswer]);
export type Answer = z.infer<typeof Answer>;

/** Per-axis ratings: axis key → completion id → score. */
export const Ratings = z.record(z.string(), z.record(z.string(), z.number().int()));
export type Ratings = z.infer<typeof Ratings>;

export function pairwiseVerdict(
  answer: PairwiseAnswer,
  displayOrder: readonly string[],
  schema: LabelSchema,
): PairwiseVerdict {
  if (schema.kind !== "pairwise")
    throw new DomainError("bad_request", "This project asks for a ranking, not an A/B choice.");
  if (displayOrder.length !== 2)
    throw new DomainError("bad_request", "An A/B choice needs exactly two completions.");
  const [a, b] = displayOrder as [string, string];
  switch (answer.choice) {
    case "tie":
      if (!schema.allowTie)
        throw new DomainError("bad_request", "This project does not allow ties; pick A or B.");
      return { kind: "pairwise", outcome: "tie" };
    case "both_bad":
      if (!schema.allowBothBad)
        throw new DomainError("bad_request", 'This project does not allow "both bad"; pick A or B.');
      return { kind: "pairwise", outcome: "both_bad" };
    default: {
      const winnerId = answer.choice === "A" ? a : b;
      const loserId = answer.choice === "A" ? b : a;
      return {
        kind: "pairwise",
        outcome: "win",
        winnerId,
        loserId,
        strength: schema.strength ? (answer.strength ?? 1) : 1,
      };
    }
  }
}

export function rankingVerdict(
  answer: RankingAnswer,
  displayOrder: readonly string[],
  schema: LabelSchema,
): RankingVerdict {
  if (schema.kind !== "ranking")
    throw new DomainError("bad_request", "This project asks for an A/B choice, not a ranking.");
  const shown = new Set(displayOrder);
  const seen = new Set<string>();
  for (const group of answer.ranking) {
    for (const id of group) {
      if (!shown.has(id))
        throw new DomainError("bad_request", `Completion ${id} is not part of this comparison.`);
      if (seen.has(id))
        throw new DomainError("bad_request", `Completion ${id} appears twice in the ranking.`);
      seen.add(id);
    }
    if (group.length > 1 && !schema.allowTies)
      throw new DomainError(
        "bad_request",
        "This project does not allow ties in a ranking; give each completion its own place.",
      );
  }
  if (seen.size < 2) throw new DomainError("bad_request", "Rank at least two completions.");
  if (seen.size < shown.size && !schema.allowPartial) {
    throw new DomainError(
      "bad_request",
      `Rank all ${shown.size} completions (this project does not allow partial rankings).`,
    );
  }
  return { kind: "ranking", ranking: answer.ranking.map((g) => [...g]) };
}

export function toVerdict(answer: Answer, displayOrder: readonly string[], schema: LabelSchema) {
  return Verdict.parse(
    answer.kind === "pairwise"
      ? pairwiseVerdict(answer, displayOrder, schema)
      : rankingVerdict(answer, displayOrder, schema),
  );
}

/** Checks ratings against the schema's axes: known axes, shown completions, scores in range. */
export function checkRatings(
  ratings: Ratings | undefined,
  displayOrder: readonly string[],
  schema: LabelSchema,
): Ratings | undefined {
  if (!ratings || Object.keys(ratings).length === 0) return undefined;
  const axes = new Map(schema.axes.map((a) => [a.key, a]));
  const shown = new Set(displayOrder);
  for (const [key, scores] of Object.entries(ratings)) {
    const axis = axes.get(key);
    if (!axis)
      throw new DomainError(
        "bad_request",
        `Unknown rating axis "${key}"; this project rates ${[...axes.keys()].join(", ") || "no axes"}.`,
      );
    for (const [id, score] of Object.entries(scores)) {
      if (!shown.has(id))
        throw new DomainError("bad_request", `Rating for ${id}, which is not part of this comparison.`);
      if (score < axis.min || score > axis.max)
        throw new DomainError("bad_request", `${axis.label}: ${score} is outside ${axis.min}..${axis.max}.`);
    }
  }
  return ratings;
}
