// A project's training settings (Project.settings.training), parsed with zod. Every field has a
// commented default, so `{}` is a complete configuration; a round freezes the parsed settings in
// TrainingRound.config when it is requested, so a resumed round trains exactly as it started.
// No "server-only" import and no trainer import: the web UI reads these too.
import { z } from "zod";
import { DomainError } from "@/server/errors";
import { parseCron } from "./cron";

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
 * undesirable rejected completion); or "sft" = rejection-sampling fine-tuning (the trainer's SFT
 * loss on the chosen completions of the pairs: RAFT / ReST / expert iteration).
 */
export const POLICY_METHODS = [...PREFERENCE_METHODS, "kto", "sft"] as const;
export type PolicyMethod = (typeof POLICY_METHODS)[number];

const cron = z
  .string()
  .trim()
  .refine((s) => {
    try {
      parseCron(s);
      return true;
    } catch {
      return false;
    }
  }, 'expected a 5-field cron expression (minute hour day-of-month month day-of-week, UTC), e.g. "0 3 * * *"');

export const TrainingSettings = z.object({
  /**
   * Built-in task. "miniR1": the trainer adds mini-R1 prompts to the project (a train pool and
   * held-out test prompts), bootstraps SFT on their target completions and scores gold reward.
   * "none": prompts and SFT data come from the project's own rows; no gold reward.
   */
  task: z.enum(["none", "miniR1"]).default("none"),
  taskOptions: z
    .object({
      difficulty: z.number().int().min(1).max(3).default(1), // mini-R1 steps per problem
      trainPrompts: z.number().int().min(0).max(200_000).default(2000), // pool for SFT and generation
      heldOutPrompts: z.number().int().min(0).max(10_000).default(100), // split "test": evaluation only
      seed: z.number().int().default(1), // which problems
      sftShare: z.number().min(0.05).max(1).default(0.5), // share of train prompts whose target completions bootstrap SFT
    })
    .prefault({}),
  /** Model shape: a preset, optionally narrowed (tests and laptops use fewer layers). */
  model: z
    .object({
      preset: z.enum(["tiny", "small", "base"]).default("tiny"),
      contextLength: z.number().int().min(32).max(4096).optional(), // default: the preset's
      nLayer: z.number().int().min(1).max(48).optional(),
      nHead: z.number().int().min(1).max(64).optional(),
      nEmbd: z.number().int().min(8).max(4096).optional(),
      vocabSize: z.number().int().min(300).max(65_536).default(400), // BPE vocabulary trained at bootstrap
      // A Hugging Face model folder (gpt2 / llama / qwen2: config.json, safetensors, tokenizer.json) the
      // bootstrap starts from, with its own tokenizer and chat template; null: a fresh Pairwise GPT.
      basePath: z.string().min(1).nullable().default(null),
    })
    .prefault({}),
  /** Triggers besides "run now". */
  schedule: z
    .object({
      cron: cron.nullable().default(null), // e.g. "0 3 * * *": every day at 03:00 UTC
      minNewPairs: z.number().int().min(1).nullable().default(null), // run when this many pairs arrived since the last round
    })
    .prefault({}),
  snapshot: z
    .object({
      validationFraction: z.number().min(0).max(0.9).default(0.15), // share of prompts held out for validation
      minAgreement: z.number().min(0).max(1).optional(),
      origins: z
        .array(z.enum(["human", "ai", "mixed", "import"]))
        .min(1)
        .optional(),
      minTrainPairs: z.number().int().min(1).default(8), // fewer: skip reward and policy training this round
    })
    .prefault({}),
  /** Stage 0, on a project with no policy yet: tokenizer + SFT. */
  bootstrap: z
    .object({
      steps: z.number().int().min(1).default(300),
      batchSize: z.number().int().min(1).default(32),
      lr: z.number().positive().default(2e-3),
      warmupSteps: z.number().int().min(0).default(30),
    })
    .prefault({}),
  reward: z
    .object({
      init: z.enum(["previous", "policy"]).default("previous"), // continue the last reward model, or start from the policy
      steps: z.number().int().min(1).default(60), // at most this many optimizer steps...
      epochs: z.number().positive().nullable().default(null), // ...or fewer: this many passes over the train pairs
      batchSize: z.number().int().min(1).default(16),
      lr: z.number().positive().default(1e-4),
    })
    .prefault({}),
  policy: z
    .object({
      method: z.enum(POLICY_METHODS).default("dpo"),
      beta: z.number().positive().default(0.1),
      rpoAlpha: z.number().min(0).default(1), // rpo: weight of the NLL term on the chosen completions (TRL rpo_alpha)
      reference: z.enum(["sft", "previous"]).default("previous"), // frozen reference: the SFT checkpoint or the previous policy
      pairs: z.enum(["all", "new"]).default("all"), // all train pairs of the snapshot, or only those new since the last round
      steps: z.number().int().min(1).default(30), // at most this many optimizer steps...
      epochs: z.number().positive().nullable().default(2), // ...or fewer: this many passes over the pairs (small rounds overfit otherwise)
      batchSize: z.number().int().min(1).default(16),
      lr: z.number().positive().default(5e-5),
      warmupSteps: z.number().int().min(0).default(3),
    })
    .prefault({}),
  evaluation: z
    .object({
      prompts: z.number().int().min(1).max(10_000).default(100), // held-out prompts evaluated
      maxTokens: z.number().int().min(1).max(2048).default(64),
      klSamples: z.number().int().min(1).max(10_000).default(32), // sampled completions for the KL estimate
    })
    .prefault({}),
  /** Promotion criterion; a null bound is not checked. */
  gate: z
    .object({
      minWinRate: z.number().min(0).max(1).nullable().default(0.5), // reward-model win rate over the previous policy
      maxKl: z.number().min(0).nullable().default(20), // sequence-level KL to the reference, nats
      minGoldDelta: z.number().min(-1).max(1).nullable().default(null), // gold accuracy change vs the previous policy (tasks with gold)
    })
    .prefault({}),
  /** Stage 6: fresh comparisons from the promoted policy. */
  generation: z
    .object({
      prompts: z.number().int().min(0).max(100_000).default(64),
      samplesPerPrompt: z.number().int().min(2).max(16).default(2), // consecutive distinct samples are paired
      temperature: z.number().min(0).max(2).default(1),
      maxTokens: z.number().int().min(1).max(2048).default(64),
    })
    .prefault({}),
  /** Unattended labeling of the round's comparisons (demos and benchmarks). */
  labeling: z
    .object({
      ruleJudge: z.boolean().default(false), // run the project's rule judge (mini-R1 checker) on them
      simulatedAnnotators: z.number().int().min(0).max(10).default(0), // simulated people judging by the gold answer...
      noise: z.number().min(0).max(1).default(0.1), // ...each flipping a verdict with this probability
    })
    .prefault({}),
  checkpointEvery: z.number().int().min(1).default(20), // steps between resumable checkpoints
  seed: z.number().int().default(0),
});
export type TrainingSettings = z.infer<typeof TrainingSettings>;
export type TrainingSettingsInput = z.input<typeof TrainingSettings>;

function issues(e: z.ZodError): string {
  return e.issues.map((i) => `${i.path.join(".") || "settings"}: ${i.message}`).join("; ");
}

/** Parses stored or submitted settings; bad values are a bad_request naming each field. */
export function parseTrainingSettings(json: unknown): TrainingSettings {
  const r = TrainingSettings.safeParse(json ?? {});
  if (!r.success)
    throw new DomainError(
      "bad_request",
      `Invalid training settings: ${issues(r.error)}. Fix them in the project's training settings.`,
    );
  return r.data;
}

/** The training section of a Project.settings JSON value. */
export function trainingSettingsOf(projectSettings: unknown): TrainingSettings {
  const s = (projectSettings ?? {}) as { training?: unknown };
  return parseTrainingSettings(s.training ?? {});
}

/** Deep merge of plain objects (arrays and scalars replace). */
export function mergeSettings(base: unknown, patch: unknown): Record<string, unknown> {
  const isObj = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  const out: Record<string, unknown> = isObj(base) ? { ...base } : {};
  if (!isObj(patch)) return out;
  for (const [k, v] of Object.entries(patch))
    out[k] = isObj(v) && isObj(out[k]) ? mergeSettings(out[k], v) : v;
  return out;
}
