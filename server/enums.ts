// The shared vocabularies of the domain, in one client-safe module (type-only imports: the web UI,
// tRPC, REST and the database code all read these, so a value offered by the UI is always one the
// server accepts). Labels live beside the values they describe. The status vocabularies are enums
// in the database too (prisma/schema.prisma); `SchemaAgrees` below fails the type check when a
// list here and the schema's enum differ.
import type { $Enums } from "@prisma/client";

/** Why an annotator skips an item. */
export const SKIP_REASONS = [
  { value: "not_sure", label: "I am not sure" },
  { value: "expertise", label: "Outside my expertise" },
  { value: "language", label: "A language I do not read well" },
  { value: "too_long", label: "Too long to judge well" },
  { value: "other", label: "Another reason (say which)" },
] as const;
export const SkipReason = [
  "not_sure",
  "expertise",
  "language",
  "too_long",
  "other",
] as const satisfies readonly (typeof SKIP_REASONS)[number]["value"][];
export type SkipReason = (typeof SkipReason)[number];

/** Why an annotator flags an item for review. */
export const FLAG_KINDS = [
  { value: "unsafe", label: "Unsafe or harmful content" },
  { value: "private", label: "Private or personal data" },
  { value: "broken", label: "Broken item (empty, garbled, wrong prompt)" },
] as const;
export const FlagKind = [
  "unsafe",
  "private",
  "broken",
] as const satisfies readonly (typeof FLAG_KINDS)[number]["value"][];
export type FlagKind = (typeof FlagKind)[number];

/**
 * A training round's lifecycle (TrainingRound.status). "skipped": the round went through its
 * stages but trained neither a reward model nor a policy (too few pairs); result.outcome.reason
 * says why (server/training/outcome.ts).
 */
export const ROUND_STATUSES = ["queued", "running", "succeeded", "skipped", "failed", "cancelled"] as const;
export type RoundStatus = (typeof ROUND_STATUSES)[number];

/**
 * An AI-judge run's lifecycle (JudgeRun.status). A finished run is "succeeded" when every
 * comparison got a verdict, "completed_with_errors" when some did and others failed or had no
 * verdict, "failed" when none did (or a fatal error stopped it); JudgeRun.error then says why.
 */
export const RUN_STATUSES = [
  "queued",
  "running",
  "paused",
  "cancelled",
  "succeeded",
  "completed_with_errors",
  "failed",
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** The preference methods of trainer/losses.ts that train on pairs (kept equal by a unit test). */
export const PREFERENCE_METHODS = [
  "dpo",
  "ipo",
  "cdpo",
  "robust",
  "hinge",
  "cpo",
  "simpo",
  "orpo",
  "rpo",
] as const;
/**
 * Policy methods: the pairwise preference losses; "kto" (each pair read as a desirable chosen and an
 * undesirable rejected completion); "sft" = rejection-sampling fine-tuning (the trainer's SFT
 * loss on the chosen completions of the pairs: RAFT / ReST / expert iteration); or "grpo" = online
 * RL on the environments of `grpo.environments` with verifiable rewards (no pairs needed).
 */
export const POLICY_METHODS = [...PREFERENCE_METHODS, "kto", "sft", "grpo"] as const;
export type PolicyMethod = (typeof POLICY_METHODS)[number];

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
/** Compile-time check: each list above equals the database enum of the same column. */
export type SchemaAgrees = [
  Assert<Same<RoundStatus, $Enums.RoundStatus>>,
  Assert<Same<RunStatus, $Enums.JudgeRunStatus>>,
];
