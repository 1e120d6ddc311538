// A project's label schema and settings: JSON columns, parsed with zod on the way in and out.
import { z } from "zod";

export const RatingAxis = z.object({
  key: z.string().regex(/^[a-z][a-z0-9_]*$/, "lowercase letters, digits and _"),
  label: z.string().min(1),
  min: z.number().int().default(1),
  max: z.number().int().default(5),
});

export const LabelSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("pairwise"),
    /** Ask "slightly" vs "much" better. */
    strength: z.boolean().default(true),
    allowTie: z.boolean().default(true),
    allowBothBad: z.boolean().default(true),
    axes: z.array(RatingAxis).default([]),
    rationale: z.enum(["off", "optional", "required"]).default("optional"),
    /** Judge the <think> reasoning and the final answer separately. */
    judgeReasoningSeparately: z.boolean().default(false),
  }),
  z.object({
    kind: z.literal("ranking"),
    allowTies: z.boolean().default(true),
    allowPartial: z.boolean().default(true),
    axes: z.array(RatingAxis).default([]),
    rationale: z.enum(["off", "optional", "required"]).default("optional"),
  }),
]);
export type LabelSchema = z.infer<typeof LabelSchema>;

export const ProjectSettings = z.object({
  /** Show model names to an annotator after their vote. */
  revealModelsAfterVote: z.boolean().default(false),
  /** How long a lease lasts without a heartbeat, in seconds. */
  leaseSeconds: z.number().int().min(30).max(86_400).default(600),
  /** Agreement below this sends a completed comparison to review. */
  reviewAgreementBelow: z.number().min(0).max(1).default(0.5),
  /**
   * Weighted consensus (Project.consensusRule = "weighted"): a vote counts its voter's gold
   * accuracy, (correct + 1) / (gold checks + 2); with this on, a win also counts its strength (1 or 2).
   */
  weightByStrength: z.boolean().default(true),
  routing: z
    .object({
      /** Comparisons the AI judge found inconsistent or unsure about go to humans, first in line. */
      aiUncertainToHumans: z.boolean().default(true),
      lowConfidenceBelow: z.number().min(0).max(1).default(0.6),
    })
    .default({ aiUncertainToHumans: true, lowConfidenceBelow: 0.6 }),
  /** Training-round settings; owned by server/training. */
  training: z.record(z.string(), z.unknown()).default({}),
});
export type ProjectSettings = z.infer<typeof ProjectSettings>;

export function parseLabelSchema(json: unknown): LabelSchema {
  return LabelSchema.parse(json);
}
export function parseProjectSettings(json: unknown): ProjectSettings {
  return ProjectSettings.parse(json ?? {});
}
