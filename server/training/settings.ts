// A project's training settings (Project.settings.training), parsed with zod. Every field has a
// commented default, so `{}` is a complete configuration; a round freezes the parsed settings in
// TrainingRound.config when it is requested, so a resumed round trains exactly as it started.
// No "server-only" import and no trainer import: the web UI reads these too.
import { z } from "zod";
import { DomainError } from "@/server/errors";
import { parseCron } from "./cron";

import { POLICY_METHODS } from "@/server/enums";
export { PREFERENCE_METHODS, POLICY_METHODS, type PolicyMethod } from "@/server/enums";
/** The environments of trainer/envs (kept equal by a unit test). */
export const ENVIRONMENT_NAMES = ["miniR1", "sorting", "code", "tictactoe"] as const;
export type EnvironmentName = (typeof ENVIRONMENT_NAMES)[number];

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
   * "none": prompts and SFT data come from the project's own rows; no gold reward. Any other
   * environment ("sorting", "code", "tictactoe") works the same way as "miniR1": its problems become
   * the project's prompts, its target completions bootstrap SFT, its checker is the gold reward.
   */
  task: z.enum(["none", ...ENVIRONMENT_NAMES]).default("none"),
  taskOptions: z
    .object({
      difficulty: z.number().int().min(1).max(3).default(1), // the environment's difficulty knob (mini-R1: steps per problem)
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
      basePath: z
        .string()
        .trim()
        .min(1)
        .refine(
          (p) => /^(\/|[A-Za-z]:[\\/])/.test(p),
          "give the folder's absolute path, e.g. /models/Qwen2.5-0.5B-Instruct (the trainer reads it, wherever it was started)",
        )
        .nullable()
        .default(null),
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
      // stop the policy stage once it has trained on this many tokens (null: no limit); benchmarks
      // compare methods at equal policy tokens with it (counted from the stage's last start)
      maxTokens: z.number().int().min(1).nullable().default(null),
    })
    .prefault({}),
  /** GRPO (policy.method "grpo"): TRL GRPOTrainer's settings, on one environment or a mix. */
  grpo: z
    .object({
      // Environments to train on, each with a share of the prompts; empty = the project's task.
      environments: z
        .array(
          z.object({
            name: z.enum(ENVIRONMENT_NAMES),
            weight: z.number().min(0).default(1), // share of the prompts
            difficulty: z.number().int().min(1).max(3).optional(), // default: taskOptions.difficulty
          }),
        )
        .default([]),
      prompts: z.number().int().min(1).max(100_000).default(512), // train prompts drawn (by weight) from the environments
      numGenerations: z.number().int().min(2).max(64).default(4), // G: completions per prompt
      promptsPerStep: z.number().int().min(1).max(1024).default(8), // prompts per generation batch
      steps: z.number().int().min(1).default(30), // optimizer steps
      lr: z.number().positive().default(1e-5),
      warmupSteps: z.number().int().min(0).default(0),
      beta: z.number().min(0).default(0.04), // KL weight (DeepSeekMath's 0.04; TRL's default is 0: no KL)
      epsilon: z.number().min(0).max(1).default(0.2),
      epsilonHigh: z.number().min(0).max(1).nullable().default(null), // null = epsilon (DAPO: 0.28)
      numIterations: z.number().int().min(1).max(16).default(1), // μ
      lossType: z.enum(["grpo", "bnpo", "dr_grpo", "dapo"]).default("dapo"),
      scaleRewards: z.enum(["group", "batch", "none"]).default("group"),
      maskTruncatedCompletions: z.boolean().default(false),
      temperature: z.number().min(0.01).max(2).default(1),
      maxCompletionLength: z.number().int().min(1).max(2048).default(64),
      /** reward_weights of the built-in reward functions (0 = off). */
      rewards: z
        .object({
          correctness: z.number().default(1), // the environment's checker
          format: z.number().default(0.2), // <think>…</think> then an answer
          length: z.number().default(0), // 0 up to half the max length, -1 at the max (truncated)
          rewardModel: z.number().default(0), // the project's newest reward model
          judge: z.number().default(0), // an LLM judge of the project (judgeId), score in [0, 1]
          judgeId: z.string().nullable().default(null),
        })
        .prefault({}),
      storeRollouts: z.boolean().default(true), // the sampled completions become browsable Completion rows
      reviewSample: z.number().int().min(0).max(10_000).default(0), // comparisons of rollouts sent to annotators
    })
    .prefault({}),
  evaluation: z
    .object({
      prompts: z.number().int().min(1).max(10_000).default(100), // held-out prompts evaluated
      maxTokens: z.number().int().min(1).max(2048).default(64),
      klSamples: z.number().int().min(1).max(10_000).default(32), // sampled completions for the KL estimate
      // Held-out score of every checkpoint on these environments (besides the project's task), per round
      environments: z.array(z.enum(ENVIRONMENT_NAMES)).default([]),
      environmentPrompts: z.number().int().min(0).max(10_000).default(50), // held-out problems per environment
      games: z.number().int().min(0).max(1000).default(10), // whole games per opponent (game environments)
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
