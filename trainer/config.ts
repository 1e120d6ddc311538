// Model and training configuration: typed defaults validated with zod, plus named presets.
import { z } from "zod";
import { HfArchSchema } from "./hf/config";

/** GPT decoder shape (GPT-2 architecture: pre-LayerNorm, GELU(tanh), learned positions, tied embeddings). */
export const ModelConfigSchema = z.object({
  vocabSize: z.number().int().positive(), // tokenizer.vocabSize
  contextLength: z.number().int().positive(), // max positions (n_positions)
  nLayer: z.number().int().positive(),
  nHead: z.number().int().positive(),
  nEmbd: z.number().int().positive(),
  layerNormEps: z.number().positive().default(1e-5),
  initStd: z.number().positive().default(0.02), // GPT-2 initializer_range
  hf: HfArchSchema.optional(), // a Hugging Face architecture (trainer/hf/); absent: Pairwise's GPT-2
});
export type ModelConfig = z.infer<typeof ModelConfigSchema>;
export type ModelConfigInput = z.input<typeof ModelConfigSchema>;

export function parseModelConfig(c: ModelConfigInput): ModelConfig {
  const cfg = ModelConfigSchema.parse(c);
  if (cfg.nEmbd % cfg.nHead !== 0) {
    throw new Error(`nEmbd (${cfg.nEmbd}) must be divisible by nHead (${cfg.nHead})`);
  }
  return cfg;
}

export type PresetName = "tiny" | "small" | "base";

/**
 * Named sizes. vocabSize is the tokenizer's: override it with `{...PRESETS.tiny, vocabSize: tok.vocabSize}`.
 *  tiny  ~1M params (vocab 1024): tests, the demo, CPU/WASM training in minutes
 *  small ~10M (vocab 4096)
 *  base  ~92M (vocab 8192, GPT-2-small shape): for the GPU
 */
export const PRESETS: Record<PresetName, ModelConfig> = {
  tiny: {
    vocabSize: 1024,
    contextLength: 256,
    nLayer: 4,
    nHead: 4,
    nEmbd: 128,
    layerNormEps: 1e-5,
    initStd: 0.02,
  },
  small: {
    vocabSize: 4096,
    contextLength: 512,
    nLayer: 5,
    nHead: 6,
    nEmbd: 384,
    layerNormEps: 1e-5,
    initStd: 0.02,
  },
  base: {
    vocabSize: 8192,
    contextLength: 1024,
    nLayer: 12,
    nHead: 12,
    nEmbd: 768,
    layerNormEps: 1e-5,
    initStd: 0.02,
  },
};

/** Parameter count of a config (tied embeddings counted once). */
export function countParams(c: ModelConfig, withRewardHead = false): number {
  const C = c.nEmbd;
  const perLayer = 2 * 2 * C + (C * 3 * C + 3 * C) + (C * C + C) + (C * 4 * C + 4 * C) + (4 * C * C + C);
  return c.vocabSize * C + c.contextLength * C + c.nLayer * perLayer + 2 * C + (withRewardHead ? C : 0);
}

/** Optimisation settings shared by every loop. */
export const TrainConfigSchema = z.object({
  lr: z.number().min(0).default(3e-4), // peak learning rate
  minLrRatio: z.number().min(0).max(1).default(0.1), // cosine decays to lr * minLrRatio
  warmupSteps: z.number().int().min(0).default(0), // linear warmup from 0
  steps: z.number().int().positive().optional(), // optimizer steps; if absent, from epochs
  epochs: z.number().positive().default(1), // used when steps is absent
  batchSize: z.number().int().positive().default(8), // examples per micro-batch
  gradAccumulation: z.number().int().positive().default(1), // micro-batches per optimizer step
  weightDecay: z.number().min(0).default(0.0), // AdamW decoupled decay, on matrices only
  beta1: z.number().min(0).max(1).default(0.9),
  beta2: z.number().min(0).max(1).default(0.999),
  eps: z.number().positive().default(1e-8),
  gradClip: z.number().min(0).default(1.0), // clip global grad norm at this value; 0 disables
  seed: z.number().int().default(0), // fixes init (where created here), data order, eval split
  maxLength: z.number().int().positive().optional(), // truncate sequences (default: model contextLength)
  padMultiple: z.number().int().positive().default(8), // pad T up to a multiple (fewer distinct shapes on GPU)
  evalFraction: z.number().min(0).max(0.9).default(0), // held-out share of the data
  evalEvery: z.number().int().min(0).default(0), // steps between evaluations; 0 = only at the end
  earlyStoppingPatience: z.number().int().min(0).default(0), // stop after N evals without improvement; 0 = off
  logEvery: z.number().int().positive().default(1), // read metrics (a sync point) every N steps
  checkpointEvery: z.number().int().min(0).default(0), // steps between checkpoints; 0 = only at the end
  checkpointDir: z.string().optional(), // where checkpoints go (latest one, replaced atomically)
  resumeFrom: z.string().optional(), // a checkpoint folder written by a previous run of this loop
});
export type TrainConfig = z.infer<typeof TrainConfigSchema>;
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;

export function parseTrainConfig(c: TrainConfigInput = {}): TrainConfig {
  return TrainConfigSchema.parse(c);
}
