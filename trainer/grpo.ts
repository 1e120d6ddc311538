// GRPO (Shao et al. 2024, DeepSeekMath; the R1 recipe) with TRL GRPOTrainer's definitions and names:
// online RL where the policy samples `numGenerations` completions per prompt, reward functions score
// them, and each completion's advantage is its reward relative to its group. No value network.
//
//   advantages   A_i = (r_i - mean(group)) / (std(group) + 1e-4)      scale_rewards "group" (default)
//                                   ... / (std(batch) + 1e-4)           "batch";  not divided: "none"
//                std is the unbiased (n - 1) estimate, as torch.std.
//   per token    ratio = exp(logp - old_logp); -min(ratio * A, clip(ratio, 1 - ε, 1 + ε_high) * A)
//                + β * (exp(ref - logp) - (ref - logp) - 1)             the k3 KL estimate, skipped at β = 0
//   loss_type    grpo: mean over sequences of each sequence's token mean; bnpo: token mean over the
//                batch; dr_grpo: token sum / (B * max_completion_length); dapo: token sum / the number
//                of completion tokens in the whole generation batch (TRL's default)
//   old logps    with num_iterations (μ) > 1 the log-probs at generation time, kept across the μ
//                optimizer steps on one generation batch; with μ = 1 the current ones, detached
//                (the ratio is 1 and only its gradient remains)
// Truncated completions (no end token within max_completion_length) are optionally masked out of
// the loss (mask_truncated_completions). Metrics (TRL names): reward, reward_std,
// frac_reward_zero_std, rewards/<fn>/mean, rewards/<fn>/std, kl, clip_ratio/low_mean,
// clip_ratio/high_mean, clip_ratio/region_mean, completions/mean_length, completions/min_length,
// completions/max_length, completions/clipped_ratio; plus accuracy (share of completions a task's
// checker calls correct).
import * as tf from "@tensorflow/tfjs";
import { createHash } from "node:crypto";
import { activeBackend, selectBackend } from "./backend";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint";
import { parseTrainConfig, type TrainConfigInput } from "./config";
import { encodePrompt, makeBatch, type Batch, type TokenSequence } from "./data";
import { sampleFromLogits } from "./generate";
import { stopGradient, type Metrics } from "./losses";
import type { LoopHooks, StepMetrics, TrainResult } from "./loop";
import {
  cloneModel,
  disposeModel,
  forwardHidden,
  lmHead,
  tokenLogProbs,
  type GPTModel,
  type KVCache,
} from "./model";
import { AdamW, clipByGlobalNorm, learningRate } from "./optim";
import { combineRewards, type CheckResult, type NamedReward, type RewardInput } from "./rewards";
import { mixSeed, permutation, Rng } from "./rng";
import type { BpeTokenizer, ChatMessage } from "./tokenizer";

export type ScaleRewards = "group" | "batch" | "none";
export type GrpoLossType = "grpo" | "bnpo" | "dr_grpo" | "dapo";
export const GRPO_LOSS_TYPES: readonly GrpoLossType[] = ["grpo", "bnpo", "dr_grpo", "dapo"];
export const SCALE_REWARDS: readonly ScaleRewards[] = ["group", "batch", "none"];

// ---------------------------------------------------------------------------------------------
// Advantages (plain numbers: rewards come from JS reward functions)

function meanOf(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}
/** Unbiased standard deviation (torch.std); NaN for fewer than 2 values, as torch. */
export function unbiasedStd(xs: readonly number[]): number {
  if (xs.length < 2) return NaN;
  const m = meanOf(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

/**
 * Group-relative advantages of rewards laid out group by group (numGenerations consecutive
 * completions per prompt), and TRL's reward metrics: reward (mean), reward_std (mean of the std
 * used: the group's for "group" and "none", the batch's for "batch"), frac_reward_zero_std (share of
 * groups whose rewards are all equal: no learning signal).
 */
export function groupAdvantages(
  rewards: readonly number[],
  numGenerations: number,
  scaleRewards: ScaleRewards = "group",
): { advantages: number[]; metrics: Record<string, number> } {
  const G = numGenerations;
  if (G < 2 || rewards.length % G !== 0)
    throw new Error(
      `groupAdvantages: ${rewards.length} rewards are not groups of numGenerations=${G} (>= 2)`,
    );
  const nGroups = rewards.length / G;
  const groupMean: number[] = [];
  const groupStd: number[] = [];
  for (let g = 0; g < nGroups; g++) {
    const r = rewards.slice(g * G, (g + 1) * G);
    groupMean.push(meanOf(r));
    groupStd.push(unbiasedStd(r));
  }
  const batchStd = unbiasedStd(rewards);
  const std = rewards.map((_, i) =>
    scaleRewards === "batch" ? batchStd : (groupStd[Math.floor(i / G)] as number),
  );
  const advantages = rewards.map((r, i) => {
    const a = r - (groupMean[Math.floor(i / G)] as number);
    return scaleRewards === "none" ? a : a / ((std[i] as number) + 1e-4);
  });
  // torch.isclose(std, 0): |std| <= 1e-8 (atol; rtol * 0 = 0)
  const zero = groupStd.filter((s) => Math.abs(s) <= 1e-8).length;
  return {
    advantages,
    metrics: { reward: meanOf(groupMean), reward_std: meanOf(std), frac_reward_zero_std: zero / nGroups },
  };
}

// ---------------------------------------------------------------------------------------------
// The loss

export interface GrpoLossInputs {
  /** Per-token log-probs of the completions under the policy being trained (B, T). */
  logps: tf.Tensor2D;
  /** At generation time (num_iterations > 1). Absent: the current log-probs, detached. */
  oldLogps?: tf.Tensor2D;
  /** Under the frozen reference; required when beta != 0. */
  refLogps?: tf.Tensor2D;
  /** One per completion (B). */
  advantages: tf.Tensor1D;
  /** 1 on completion tokens that count (B, T). Truncated completions are all-zero rows when masked. */
  mask: tf.Tensor2D;
}

export interface GrpoLossOptions {
  /** KL weight β (TRL default 0.0: no reference needed). */
  beta?: number;
  /** Lower clip ε (TRL epsilon, default 0.2). */
  epsilon?: number;
  /** Upper clip (TRL epsilon_high, default = epsilon; DAPO uses 0.28). */
  epsilonHigh?: number;
  lossType?: GrpoLossType;
  /** dr_grpo's constant normaliser (TRL max_completion_length). */
  maxCompletionLength?: number;
  /** dapo's normaliser: completion tokens in the whole generation batch (default: this batch's). */
  numItemsInBatch?: number;
}

function maskedBatchMean(x: tf.Tensor, mask: tf.Tensor): tf.Scalar {
  return tf.div(tf.sum(tf.mul(x, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
}

/**
 * GRPO loss over one micro-batch (TRL GRPOTrainer._compute_loss, token-level importance sampling).
 * Metrics: kl (β != 0), clip_ratio/low_mean, clip_ratio/high_mean, clip_ratio/region_mean.
 */
export function grpoLoss(x: GrpoLossInputs, o: GrpoLossOptions = {}): { loss: tf.Scalar; metrics: Metrics } {
  const beta = o.beta ?? 0;
  const epsLow = o.epsilon ?? 0.2;
  const epsHigh = o.epsilonHigh ?? epsLow;
  const lossType = o.lossType ?? "dapo";
  const old = x.oldLogps ?? stopGradient(x.logps);
  const A = tf.expandDims(x.advantages, 1); // (B,1)
  const coef1 = tf.exp(tf.sub(x.logps, old));
  const coef2 = tf.clipByValue(coef1, 1 - epsLow, 1 + epsHigh);
  let perToken: tf.Tensor = tf.neg(tf.minimum(tf.mul(coef1, A), tf.mul(coef2, A)));
  const metrics: Metrics = {};
  if (beta !== 0) {
    if (!x.refLogps) throw new Error("grpoLoss: beta != 0 needs the reference's log-probs (refLogps)");
    const d = tf.sub(x.refLogps, x.logps);
    const kl = tf.sub(tf.sub(tf.exp(d), d), 1);
    perToken = tf.add(perToken, tf.mul(beta, kl));
    metrics["kl"] = maskedBatchMean(stopGradient(kl), x.mask);
  }
  const masked = tf.mul(perToken, x.mask);
  const B = x.logps.shape[0];
  let loss: tf.Scalar;
  switch (lossType) {
    case "grpo":
      loss = tf.mean(tf.div(tf.sum(masked, 1), tf.maximum(tf.sum(x.mask, 1), 1))) as tf.Scalar;
      break;
    case "bnpo":
      loss = tf.div(tf.sum(masked), tf.maximum(tf.sum(x.mask), 1)) as tf.Scalar;
      break;
    case "dr_grpo": {
      const L = o.maxCompletionLength ?? x.logps.shape[1];
      loss = tf.div(tf.sum(masked), B * L) as tf.Scalar;
      break;
    }
    case "dapo":
      loss = (
        o.numItemsInBatch !== undefined
          ? tf.div(tf.sum(masked), Math.max(1, o.numItemsInBatch))
          : tf.div(tf.sum(masked), tf.maximum(tf.sum(x.mask), 1))
      ) as tf.Scalar;
      break;
    default:
      throw new Error(
        `Unknown GRPO loss_type "${String(lossType)}"; use one of ${GRPO_LOSS_TYPES.join(", ")}`,
      );
  }
  const c = stopGradient(coef1);
  const low = tf.cast(tf.logicalAnd(tf.less(c, 1 - epsLow), tf.less(A, 0)), "float32");
  const high = tf.cast(tf.logicalAnd(tf.greater(c, 1 + epsHigh), tf.greater(A, 0)), "float32");
  metrics["clip_ratio/low_mean"] = maskedBatchMean(low, x.mask);
  metrics["clip_ratio/high_mean"] = maskedBatchMean(high, x.mask);
  metrics["clip_ratio/region_mean"] = maskedBatchMean(tf.maximum(low, high), x.mask);
  return { loss, metrics };
}

// ---------------------------------------------------------------------------------------------
// Sampling a group: the G completions of one prompt share the prompt, so they decode as one batch

export interface GroupSample {
  /** Completion token ids, without the end token. */
  tokens: number[];
  /** The end token sampled (<|end|> / <|endoftext|>), or null when cut at maxTokens (truncated). */
  endToken: number | null;
  text: string;
}

/**
 * G sampled completions of one prompt, decoded together with a KV cache (one forward of G rows per
 * token). Row g samples with its own generator seeded by seeds[g], so a seed reproduces a row.
 */
export async function sampleGroup(
  model: GPTModel,
  tok: BpeTokenizer,
  prompt: string | ChatMessage[],
  o: { seeds: readonly number[]; maxTokens: number; temperature?: number; topK?: number; topP?: number },
): Promise<{ promptIds: number[]; samples: GroupSample[] }> {
  const G = o.seeds.length;
  const ctx = model.config.contextLength;
  let promptIds = encodePrompt(tok, prompt);
  if (promptIds.length > ctx - 1) promptIds = promptIds.slice(promptIds.length - (ctx - 1));
  const rngs = o.seeds.map((s) => new Rng(s));
  const endIds = new Set([tok.eosId, tok.endId]);
  const sampling = { temperature: o.temperature ?? 1, topK: o.topK, topP: o.topP, banned: [tok.padId] };
  const tokens: number[][] = Array.from({ length: G }, () => []);
  const ended: (number | null)[] = Array.from({ length: G }, () => null);
  let cache: KVCache = [];
  let pos = 0;
  let next: number[][] = Array.from({ length: G }, () => promptIds);
  const V = model.config.vocabSize;
  try {
    while (pos + (next[0] as number[]).length <= ctx) {
      const T = (next[0] as number[]).length;
      const newCache: KVCache = [];
      const logitsT = tf.tidy(() => {
        const x = tf.tensor2d(next.flat(), [G, T], "int32");
        const h = forwardHidden(model, x, { past: pos, cache, newCache });
        const last = tf.slice(h, [0, T - 1, 0], [G, 1, model.config.nEmbd]);
        return tf.reshape(lmHead(model, last), [G, V]);
      });
      for (const c of cache) tf.dispose([c.k, c.v]);
      cache = newCache;
      pos += T;
      const logits = (await logitsT.data()) as Float32Array; // sync point, once per token
      logitsT.dispose();
      next = [];
      for (let g = 0; g < G; g++) {
        if (ended[g] !== null || (tokens[g] as number[]).length >= o.maxTokens) {
          next.push([tok.padId]);
          continue;
        }
        const id = sampleFromLogits(logits.subarray(g * V, (g + 1) * V), sampling, rngs[g] as Rng);
        if (endIds.has(id)) ended[g] = id;
        else (tokens[g] as number[]).push(id);
        next.push([id]);
      }
      if (ended.every((e, g) => e !== null || (tokens[g] as number[]).length >= o.maxTokens)) break;
    }
  } finally {
    for (const c of cache) tf.dispose([c.k, c.v]);
  }
  return {
    promptIds,
    samples: tokens.map((t, g) => ({ tokens: t, endToken: ended[g] as number | null, text: tok.decode(t) })),
  };
}

// ---------------------------------------------------------------------------------------------
// The training loop

/** A prompt to train on, with its task's checker (which the correctness reward reads). */
export interface GrpoPrompt {
  prompt: string | ChatMessage[];
  /** Stable id (for the data fingerprint and the stored rollouts). */
  key: string;
  /** The environment's checker for this prompt's problem. */
  check?: (completion: string) => CheckResult | Promise<CheckResult>;
  /** Task data handed to reward functions (e.g. the problem), and the environment's name. */
  data?: unknown;
  env?: string;
}

export interface GrpoRollout {
  step: number;
  promptIndex: number;
  key: string;
  env?: string;
  completion: string;
  completionTokens: number;
  truncated: boolean;
  reward: number;
  rewards: Record<string, number>;
  advantage: number;
  correct: boolean | null;
}

export interface GrpoOptions extends LoopHooks {
  model: GPTModel;
  /** Frozen reference for the KL term (β != 0). Default: a frozen copy of `model` before training. */
  reference?: GPTModel;
  tokenizer: BpeTokenizer;
  prompts: GrpoPrompt[];
  /** TRL reward_funcs + reward_weights. */
  rewards: NamedReward[];
  /** G: completions sampled per prompt (TRL num_generations; default 4). */
  numGenerations?: number;
  /** Prompts per generation batch (default 8): the batch is promptsPerStep * G completions. */
  promptsPerStep?: number;
  maxCompletionLength?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  beta?: number;
  epsilon?: number;
  epsilonHigh?: number;
  /** μ: optimizer steps on each generation batch (TRL num_iterations, default 1). */
  numIterations?: number;
  lossType?: GrpoLossType;
  scaleRewards?: ScaleRewards;
  maskTruncatedCompletions?: boolean;
  /**
   * lr, steps (optimizer steps; default 1 generation batch), warmupSteps, minLrRatio, weightDecay,
   * gradClip, seed, batchSize (micro-batch in completions; default: the whole generation batch),
   * logEvery, checkpointEvery, checkpointDir, resumeFrom.
   */
  config?: TrainConfigInput;
  /** Called with every generation batch's scored completions (to store them). */
  onRollouts?: (rollouts: GrpoRollout[]) => void | Promise<void>;
  meta?: Record<string, unknown>;
}

/** One generation batch, ready for μ optimizer steps (plain arrays, so a checkpoint can hold it). */
interface GenBatch {
  generation: number;
  seqs: TokenSequence[];
  advantages: number[];
  /** Old / reference per-token log-probs laid out as makeBatch(seqs) (B*T), when needed. */
  oldLogps: number[] | null;
  refLogps: number[] | null;
  metrics: Record<string, number>;
}

const fingerprint = (prompts: readonly GrpoPrompt[]) =>
  createHash("sha256")
    .update(prompts.map((p) => p.key).join("\n"))
    .digest("hex")
    .slice(0, 32);

async function perTokenLogps(model: GPTModel, b: Batch, micro: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < b.B; i += micro) {
    const n = Math.min(micro, b.B - i);
    const t = tf.tidy(() =>
      tokenLogProbs(
        model,
        tf.slice(b.inputs, [i, 0], [n, b.T]) as tf.Tensor2D,
        tf.slice(b.targets, [i, 0], [n, b.T]) as tf.Tensor2D,
      ),
    );
    out.push(...(await t.data()));
    t.dispose();
  }
  return out;
}

/**
 * GRPO training (TRL GRPOTrainer). Returns the loop's TrainResult (history: one entry per logged
 * optimizer step). Resumable: a checkpoint written mid-way (checkpointEvery) holds the weights, the
 * optimizer, the step and the current generation batch; generation is seeded by (seed, batch index).
 */
export async function trainGRPO(o: GrpoOptions): Promise<TrainResult> {
  const cfg = parseTrainConfig(o.config ?? {});
  const backend = (activeBackend() ?? (await selectBackend({ log: o.log }))).name;
  const log = o.log ?? (() => {});
  const { model, tokenizer: tok } = o;
  if (!o.prompts.length) throw new Error("trainGRPO: no prompts");
  if (!o.rewards.length) throw new Error("trainGRPO: no reward functions");
  const G = o.numGenerations ?? 4;
  if (G < 2)
    throw new Error("trainGRPO: numGenerations must be at least 2 (advantages are relative to the group)");
  const P = Math.min(o.promptsPerStep ?? 8, o.prompts.length);
  const mu = o.numIterations ?? 1;
  const beta = o.beta ?? 0;
  const lossOpts: GrpoLossOptions = {
    beta,
    epsilon: o.epsilon ?? 0.2,
    epsilonHigh: o.epsilonHigh ?? o.epsilon ?? 0.2,
    lossType: o.lossType ?? "dapo",
    maxCompletionLength: o.maxCompletionLength ?? 64,
  };
  const maxTokens = o.maxCompletionLength ?? 64;
  const scale = o.scaleRewards ?? "group";
  const totalSteps = cfg.steps ?? mu;
  const micro = o.config?.batchSize !== undefined ? cfg.batchSize : P * G;
  const fp = fingerprint(o.prompts);
  const varList = [...model.params.values()];
  const nameOf = new Map(
    varList.map((v) => [v.name, [...model.params].find(([, x]) => x === v)?.[0] as string]),
  );

  // The reference is the model as it is before any resumed weights are loaded.
  let ownReference: GPTModel | null = null;
  const reference =
    beta !== 0 ? (o.reference ?? (ownReference = cloneModel(model, { trainable: false }))) : null;
  const opt = new AdamW(model.params, {
    beta1: cfg.beta1,
    beta2: cfg.beta2,
    eps: cfg.eps,
    weightDecay: cfg.weightDecay,
  });
  let step = 0;
  let batch: GenBatch | null = null;
  if (cfg.resumeFrom) {
    const ck = await loadCheckpoint(cfg.resumeFrom, { withOptimizer: true });
    try {
      const st = ck.trainerState as Record<string, unknown> | undefined;
      if (!st || st["loop"] !== "grpo")
        throw new Error(
          `resumeFrom ${cfg.resumeFrom}: not a GRPO checkpoint (loop "${String(st?.["loop"])}")`,
        );
      if (st["promptsFingerprint"] !== fp || st["seed"] !== cfg.seed || st["numGenerations"] !== G)
        throw new Error(
          `resumeFrom ${cfg.resumeFrom}: written for other prompts, seed or numGenerations; resume with the same ones.`,
        );
      for (const [name, v] of model.params) {
        const src = ck.model.params.get(name);
        if (!src || src.shape.join(",") !== v.shape.join(","))
          throw new Error(`resumeFrom ${cfg.resumeFrom}: parameter ${name} does not match the model`);
        v.assign(src);
      }
      opt.loadState(ck.optimizer?.tensors ?? new Map(), ck.optimizer?.t ?? 0);
      step = Number(st["step"]);
      batch = (st["batch"] as GenBatch | null) ?? null;
      log(`[grpo] resumed from ${cfg.resumeFrom} at step ${step}/${totalSteps}`);
    } finally {
      for (const v of ck.model.params.values()) v.dispose();
      if (ck.optimizer) tf.dispose([...ck.optimizer.tensors.values()]);
    }
  }

  const saveTo = async (dir: string) =>
    saveCheckpoint(dir, {
      model,
      tokenizer: tok,
      optimizer: opt,
      meta: { backend, loop: "grpo", step, ...o.meta },
      trainerState: {
        loop: "grpo",
        step,
        totalSteps,
        seed: cfg.seed,
        numGenerations: G,
        promptsFingerprint: fp,
        // the batch the next steps still train on (μ > 1); a new one is generated otherwise
        batch: batch && step % mu !== 0 ? batch : null,
        backend,
        config: cfg,
        savedAt: new Date().toISOString(),
      },
    });

  /** Samples, scores and prepares generation batch `gen` with the current weights. */
  const generateBatch = async (gen: number): Promise<GenBatch> => {
    const order = permutation(
      o.prompts.length,
      mixSeed(cfg.seed, Math.floor((gen * P) / o.prompts.length)),
      7,
    );
    const idx = Array.from({ length: P }, (_, i) => order[(gen * P + i) % o.prompts.length] as number);
    const seqs: TokenSequence[] = [];
    const inputs: RewardInput[] = [];
    const checks: (CheckResult | null)[] = [];
    const lengths: number[] = [];
    const truncated: boolean[] = [];
    for (const [pi, i] of idx.entries()) {
      const p = o.prompts[i] as GrpoPrompt;
      const { promptIds, samples } = await sampleGroup(model, tok, p.prompt, {
        seeds: Array.from({ length: G }, (_, g) => mixSeed(cfg.seed, gen, pi, g)),
        maxTokens,
        temperature: o.temperature ?? 1,
        topK: o.topK,
        topP: o.topP,
      });
      for (const s of samples) {
        const ids = [...promptIds, ...s.tokens, ...(s.endToken !== null ? [s.endToken] : [])];
        const cut = s.endToken === null;
        const keep = !(cut && o.maskTruncatedCompletions);
        seqs.push({ ids, lossMask: ids.map((_, t) => (t >= promptIds.length && keep ? 1 : 0)) });
        const check = p.check ? await p.check(s.text) : null;
        checks.push(check);
        lengths.push(s.tokens.length + (cut ? 0 : 1));
        truncated.push(cut);
        inputs.push({
          prompt: p.prompt,
          completion: s.text,
          data: p.data,
          env: p.env,
          check: check ?? undefined,
          completionTokens: s.tokens.length,
          truncated: cut,
        });
      }
      await o.shouldStop?.(); // lets the caller renew its lease while sampling
    }
    const scored = await combineRewards(o.rewards, inputs);
    const adv = groupAdvantages(scored.total, G, scale);
    const metrics: Record<string, number> = { ...adv.metrics };
    for (const [name, vals] of Object.entries(scored.perFunc)) {
      const ok = vals.filter((v) => !Number.isNaN(v));
      metrics[`rewards/${name}/mean`] = ok.length ? meanOf(ok) : NaN;
      metrics[`rewards/${name}/std`] = ok.length > 1 ? unbiasedStd(ok) : NaN;
    }
    const judged = checks.filter((c): c is CheckResult => c !== null);
    if (judged.length) metrics["accuracy"] = judged.filter((c) => c.correct).length / judged.length;
    metrics["completions/mean_length"] = meanOf(lengths);
    metrics["completions/min_length"] = Math.min(...lengths);
    metrics["completions/max_length"] = Math.max(...lengths);
    metrics["completions/clipped_ratio"] = truncated.filter(Boolean).length / truncated.length;
    const b = makeBatch(seqs, tok.padId, cfg.padMultiple, model.config.contextLength);
    let oldLogps: number[] | null = null;
    let refLogps: number[] | null = null;
    try {
      if (mu > 1) oldLogps = await perTokenLogps(model, b, micro);
      if (reference) refLogps = await perTokenLogps(reference, b, micro);
    } finally {
      tf.dispose([b.inputs, b.targets, b.mask]);
    }
    await o.onRollouts?.(
      inputs.map((x, i) => ({
        step: gen * mu,
        promptIndex: idx[Math.floor(i / G)] as number,
        key: o.prompts[idx[Math.floor(i / G)] as number]?.key as string,
        env: x.env,
        completion: x.completion,
        completionTokens: lengths[i] as number,
        truncated: truncated[i] as boolean,
        reward: scored.total[i] as number,
        rewards: Object.fromEntries(Object.entries(scored.perFunc).map(([k, v]) => [k, v[i] as number])),
        advantage: adv.advantages[i] as number,
        correct: checks[i]?.correct ?? null,
      })),
    );
    return { generation: gen, seqs, advantages: adv.advantages, oldLogps, refLogps, metrics };
  };

  const history: StepMetrics[] = [];
  let stoppedBy: TrainResult["stoppedBy"] = "completed";
  try {
    while (step < totalSteps) {
      if (o.shouldStop && (await o.shouldStop())) {
        stoppedBy = "shouldStop";
        break;
      }
      const t0 = performance.now();
      if (step % mu === 0 || !batch || batch.generation !== Math.floor(step / mu))
        batch = await generateBatch(Math.floor(step / mu));
      if (o.shouldStop && (await o.shouldStop())) {
        stoppedBy = "shouldStop";
        break;
      }
      const gb = batch;
      const b = makeBatch(gb.seqs, tok.padId, cfg.padMultiple, model.config.contextLength);
      const B = b.B;
      const T = b.T;
      const nItems = b.counts.reduce((x, y) => x + (y as number), 0);
      const lr = learningRate(step, {
        lr: cfg.lr,
        warmupSteps: cfg.warmupSteps,
        totalSteps,
        minLrRatio: cfg.minLrRatio,
      });
      let acc: Map<string, tf.Tensor> | null = null;
      const metricSums: Record<string, number> = {};
      const nMicro = Math.ceil(B / micro);
      let tokens = 0;
      try {
        for (let i = 0; i < B; i += micro) {
          const n = Math.min(micro, B - i);
          let kept: Metrics = {};
          const { value, grads } = tf.variableGrads(() => {
            const rows = <R extends tf.Rank>(t: tf.Tensor<R>) => tf.slice(t, [i, 0], [n, T]) as tf.Tensor2D;
            const fromArr = (a: number[]) => tf.tensor2d(a.slice(i * T, (i + n) * T), [n, T]);
            const logps = tokenLogProbs(model, rows(b.inputs), rows(b.targets));
            const r = grpoLoss(
              {
                logps,
                oldLogps: gb.oldLogps ? fromArr(gb.oldLogps) : undefined,
                refLogps: gb.refLogps ? fromArr(gb.refLogps) : undefined,
                advantages: tf.tensor1d(gb.advantages.slice(i, i + n)),
                mask: rows(b.mask),
              },
              { ...lossOpts, numItemsInBatch: nItems },
            );
            kept = Object.fromEntries(Object.entries(r.metrics).map(([k, t]) => [k, tf.keep(t)]));
            return r.loss;
          }, varList);
          // dapo's normaliser is the whole batch's token count, so its micro-batch losses add up;
          // the others are means, so their micro-batch gradients are averaged.
          const w = lossOpts.lossType === "dapo" ? 1 : 1 / nMicro;
          const prev: Map<string, tf.Tensor> | null = acc;
          acc = new Map();
          for (const [vn, g] of Object.entries(grads)) {
            const name = nameOf.get(vn) as string;
            const before = prev?.get(name);
            acc.set(name, before ? tf.add(before, g) : g);
            if (before) {
              before.dispose();
              g.dispose();
            }
          }
          const all: Metrics = { loss: value, ...kept };
          const names = Object.keys(all);
          const vals = await Promise.all(names.map((k) => (all[k] as tf.Scalar).data()));
          names.forEach(
            (k, j) =>
              (metricSums[k] =
                (metricSums[k] ?? 0) +
                ((vals[j] as ArrayLike<number>)[0] as number) * (k === "loss" ? w : n / B)),
          );
          tf.dispose(Object.values(all));
          for (let r = i; r < i + n; r++) tokens += gb.seqs[r]?.ids.length ?? 0;
        }
      } finally {
        tf.dispose([b.inputs, b.targets, b.mask]);
      }
      const grads = acc as Map<string, tf.Tensor>;
      const clipped = clipByGlobalNorm(grads, cfg.gradClip, lossOpts.lossType === "dapo" ? 1 : 1 / nMicro);
      tf.dispose([...grads.values()]);
      opt.apply(clipped.grads, lr);
      tf.dispose([...clipped.grads.values()]);
      const gradNorm = (await clipped.norm.data())[0] as number;
      clipped.norm.dispose();
      step++;
      const m: StepMetrics = {
        ...gb.metrics,
        ...metricSums,
        step,
        loss: metricSums["loss"] as number,
        learning_rate: lr,
        grad_norm: gradNorm,
        epoch: (Math.floor((step - 1) / mu) * P + P) / o.prompts.length,
        tokens,
        tokens_per_second: tokens / Math.max(1e-3, (performance.now() - t0) / 1000),
      };
      if (step % cfg.logEvery === 0 || step === totalSteps) {
        history.push(m);
        await o.onStep?.(m);
      }
      if (
        cfg.checkpointDir &&
        cfg.checkpointEvery > 0 &&
        step % cfg.checkpointEvery === 0 &&
        step < totalSteps
      )
        await saveTo(cfg.checkpointDir);
    }
    if (cfg.checkpointDir) await saveTo(cfg.checkpointDir);
  } finally {
    opt.dispose();
    if (ownReference) disposeModel(ownReference);
  }
  return {
    steps: step,
    totalSteps,
    stoppedBy,
    history,
    evalHistory: [],
    backend,
    checkpointDir: cfg.checkpointDir,
  };
}
