// The three public training loops: trainSFT (pretraining / SFT), trainRewardModel, trainPreference
// (DPO family and KTO). Each tokenizes its data, defines a micro-batch loss over the shared
// losses module, and hands both to the shared loop (loop.ts).
import * as tf from "@tensorflow/tfjs";
import { parseTrainConfig, type TrainConfigInput } from "./config";
import {
  type PreferenceLossOptions,
  type PreferenceMethod,
  type PairwiseMethod,
  PAIRWISE_METHODS,
  ktoLoss,
  lmLoss,
  needsReference,
  preferenceLoss,
  rewardModelLoss,
  sequenceLogpsFromTokens,
  stopGradient,
} from "./losses";
import { type LoopHooks, type LoopItem, type TrainResult, runTraining } from "./loop";
import { cloneModel, disposeModel, type GPTModel, rewardScores, tokenLogProbs } from "./model";
import {
  type PreferencePair,
  type SftExample,
  type TokenSequence,
  type UnpairedExample,
  contentKey,
  makeBatch,
  makeScoreBatch,
  pairKey,
  promptCompletionSequence,
  sftSequence,
} from "./data";
import { RefLogpCache, type RefLogpCacheJSON } from "./refcache";
import { CHECKPOINT_FILES } from "./checkpoint";
import { promises as fs } from "node:fs";
import path from "node:path";
import type { BpeTokenizer } from "./tokenizer";

const seqFingerprint = (...seqs: TokenSequence[]) =>
  Int32Array.from(seqs.flatMap((s) => [...s.ids, -1, ...s.lossMask, -2]));

function maxLengthOf(model: GPTModel, config: TrainConfigInput): number {
  const cfg = parseTrainConfig(config);
  return Math.min(cfg.maxLength ?? model.config.contextLength, model.config.contextLength + 1);
}

// ---------------------------------------------------------------------------------------------
// SFT

export interface SftOptions extends LoopHooks {
  model: GPTModel;
  tokenizer: BpeTokenizer;
  /** Text, {prompt, completion} or {messages}; completions/assistant turns only are trained on. */
  data: SftExample[];
  config?: TrainConfigInput;
  meta?: Record<string, unknown>;
}

interface SftItem extends LoopItem {
  seq: TokenSequence;
}

/**
 * Pretraining / supervised fine-tuning with the mean token NLL over trained tokens. Metrics: loss.
 */
export async function trainSFT(o: SftOptions): Promise<TrainResult> {
  const cfg = o.config ?? {};
  const maxLen = maxLengthOf(o.model, cfg);
  const items: SftItem[] = o.data.map((ex) => {
    const seq = sftSequence(o.tokenizer, ex, maxLen);
    return { seq, tokens: seq.ids.length, fingerprint: seqFingerprint(seq) };
  });
  const padMultiple = parseTrainConfig(cfg).padMultiple;
  const untrained = items.filter((it) => !it.seq.lossMask.some((m, i) => i > 0 && m === 1)).length;
  if (untrained === items.length) {
    throw new Error(
      `trainSFT: no example has a token to train on (maxLength ${maxLen}); raise maxLength/contextLength.`,
    );
  }
  if (untrained)
    o.log?.(`[sft] ${untrained} of ${items.length} examples have no trained token after truncation`);
  return runTraining({
    ...o,
    loop: "sft",
    items,
    config: cfg,
    batchLoss: (batch) => {
      const b = makeBatch(
        batch.map((it) => it.seq),
        o.tokenizer.padId,
        padMultiple,
        o.model.config.contextLength,
      );
      const logp = tokenLogProbs(o.model, b.inputs, b.targets); // (B,T)
      return { loss: lmLoss(logp, b.mask), metrics: {} };
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Reward model

export interface RewardModelOptions extends LoopHooks {
  /** A reward model (createRewardModel). */
  model: GPTModel;
  tokenizer: BpeTokenizer;
  /** Pairs; `margin` is used when present (TRL margin column). */
  data: PreferencePair[];
  config?: TrainConfigInput;
  /** TRL center_rewards_coefficient (e.g. 0.01); off by default. */
  centerRewardsCoefficient?: number;
  meta?: Record<string, unknown>;
}

interface RmItem extends LoopItem {
  chosen: number[];
  rejected: number[];
  margin: number;
}

/** Scored sequence: prompt + completion (prompt truncated first), read at its last token. */
function scoredIds(
  tok: BpeTokenizer,
  prompt: PreferencePair["prompt"],
  completion: PreferencePair["chosen"],
  maxLen: number,
): number[] {
  return promptCompletionSequence(tok, prompt, completion, maxLen).ids;
}

/**
 * Bradley-Terry reward-model training (TRL RewardTrainer). Metrics: loss, accuracy, margin,
 * min_reward, mean_reward, max_reward.
 */
export async function trainRewardModel(o: RewardModelOptions): Promise<TrainResult> {
  if (o.model.kind !== "reward") throw new Error("trainRewardModel needs a reward model (createRewardModel)");
  const cfg = o.config ?? {};
  const maxLen = Math.min(
    parseTrainConfig(cfg).maxLength ?? o.model.config.contextLength,
    o.model.config.contextLength,
  );
  const padMultiple = parseTrainConfig(cfg).padMultiple;
  const useMargin = o.data.some((p) => p.margin !== undefined);
  const items: RmItem[] = o.data.map((p) => {
    const chosen = scoredIds(o.tokenizer, p.prompt, p.chosen, maxLen);
    const rejected = scoredIds(o.tokenizer, p.prompt, p.rejected, maxLen);
    return {
      chosen,
      rejected,
      margin: p.margin ?? 0,
      tokens: chosen.length + rejected.length,
      fingerprint: Int32Array.from([...chosen, -1, ...rejected, -2, Math.round((p.margin ?? 0) * 1e6)]),
    };
  });
  return runTraining({
    ...o,
    loop: "reward",
    items,
    config: cfg,
    batchLoss: (batch) => {
      const B = batch.length;
      const sb = makeScoreBatch(
        [...batch.map((b) => b.chosen), ...batch.map((b) => b.rejected)],
        o.tokenizer.padId,
        padMultiple,
        o.model.config.contextLength,
      );
      const r = rewardScores(o.model, sb.ids, sb.lastIndex); // (2B)
      const rc = tf.slice(r, [0], [B]) as tf.Tensor1D;
      const rr = tf.slice(r, [B], [B]) as tf.Tensor1D;
      return rewardModelLoss(rc, rr, {
        margin: useMargin ? tf.tensor1d(batch.map((b) => b.margin)) : undefined,
        centerRewardsCoefficient: o.centerRewardsCoefficient,
      });
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Preference optimisation

export interface PreferenceOptions extends LoopHooks {
  method: PreferenceMethod;
  /** The policy being trained (only its variables are updated). */
  model: GPTModel;
  /**
   * The frozen reference for dpo/ipo/cdpo/robust/hinge/kto. Default: a frozen copy of `model` as it
   * is when training starts (TRL's default). Never updated.
   */
  reference?: GPTModel;
  /** Id of the reference checkpoint: the cache key. Default: an id unique to this call (no reuse). */
  referenceId?: string;
  /** Cache of reference log-probs to read and fill (persist it with toJSON). */
  refCache?: RefLogpCache;
  tokenizer: BpeTokenizer;
  /** Pairs for the pairwise methods; unpaired {prompt, completion, label} examples for kto. */
  data: PreferencePair[] | UnpairedExample[];
  config?: TrainConfigInput;
  /** β (default 0.1). */
  beta?: number;
  /** ε for cdpo/robust/cpo/simpo (a pair's own `labelSmoothing` wins). */
  labelSmoothing?: number;
  simpoGamma?: number;
  cpoAlpha?: number;
  /** rpo: weight of the NLL term on the chosen completions (TRL rpo_alpha, default 1). */
  rpoAlpha?: number;
  /** KTO weights (default 1, 1). */
  desirableWeight?: number;
  undesirableWeight?: number;
  meta?: Record<string, unknown>;
}

interface PairItem extends LoopItem {
  key: string;
  chosen: TokenSequence;
  rejected: TokenSequence;
  eps: number;
}

interface KtoItem extends LoopItem {
  key: string;
  seq: TokenSequence; // prompt_i + completion_i
  kl: TokenSequence; // prompt_i + completion_{i-1}: mismatched pair for the KL estimate
  label: number;
}

/** Summed completion log-probs (and counts) of sequences under a model: one forward, (N). */
function seqLogps(
  model: GPTModel,
  seqs: TokenSequence[],
  padId: number,
  padMultiple: number,
): { logps: tf.Tensor1D; counts: number[] } {
  const b = makeBatch(seqs, padId, padMultiple, model.config.contextLength);
  const logp = tokenLogProbs(model, b.inputs, b.targets);
  return { logps: sequenceLogpsFromTokens(logp, b.mask), counts: b.counts };
}

/** Reference log-probs for sequences, computed in batches without gradients (sync point per batch). */
async function referenceLogps(
  model: GPTModel,
  seqs: TokenSequence[],
  padId: number,
  padMultiple: number,
  batchSize: number,
): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < seqs.length; i += batchSize) {
    const t = tf.tidy(() => seqLogps(model, seqs.slice(i, i + batchSize), padId, padMultiple).logps);
    out.push(...(await t.data()));
    t.dispose();
  }
  return out;
}

/**
 * Preference optimisation: method "dpo" | "ipo" | "cdpo" | "robust" | "hinge" | "cpo" | "simpo" |
 * "orpo" on pairs, or "kto" on unpaired examples. Prompt tokens are masked; reference log-probs are
 * computed once per (pair, referenceId) through `refCache`. Metrics: loss, rewards/chosen,
 * rewards/rejected, rewards/margins, rewards/accuracies, logps/chosen, logps/rejected (+ nll_loss,
 * log_odds_ratio, log_odds_chosen, kl where the method defines them).
 */
export async function trainPreference(o: PreferenceOptions): Promise<TrainResult> {
  const method = o.method;
  if (method !== "kto" && !PAIRWISE_METHODS.includes(method)) {
    throw new Error(
      `Unknown preference method "${method}"; use one of ${[...PAIRWISE_METHODS, "kto"].join(", ")}`,
    );
  }
  const ref = await referenceSetup(o, needsReference(method));
  try {
    return method === "kto" ? await trainKto(o, ref) : await trainPairwise(o, method, ref);
  } finally {
    ref.dispose();
  }
}

/** The frozen reference of a preference run and its log-prob cache, shared by the KTO and pairwise paths. */
interface ReferenceSetup {
  refId: string;
  /** null when the method needs no reference. */
  reference: GPTModel | null;
  /** trainer_state.json additions: the reference id and its cached log-probs (resume reads them). */
  extraState: () => Record<string, unknown>;
  /** Reads an item's cached entry. */
  get: (key: string) => Record<string, number>;
  /**
   * Computes the reference's summed completion log-probs of the items not cached yet, one value
   * per name (each item gives one sequence per name), without gradients, in batches.
   */
  fill: <I extends { key: string }>(
    items: readonly I[],
    names: readonly string[],
    seqsOf: (it: I) => TokenSequence[],
  ) => Promise<void>;
  dispose: () => void;
}

async function referenceSetup(o: PreferenceOptions, useRef: boolean): Promise<ReferenceSetup> {
  const pcfg = parseTrainConfig(o.config ?? {});
  const cache = o.refCache ?? new RefLogpCache();
  // Resuming: reuse the reference id and cached reference log-probs stored in the checkpoint.
  let resumed: { referenceId?: string; refLogps?: RefLogpCacheJSON } = {};
  if (pcfg.resumeFrom) {
    const raw = await fs
      .readFile(path.join(pcfg.resumeFrom, CHECKPOINT_FILES.trainerState), "utf8")
      .catch(() => null);
    if (raw) resumed = JSON.parse(raw);
  }
  const refId =
    o.referenceId ?? resumed.referenceId ?? `anonymous-${contentKey(o.model.id, Date.now(), Math.random())}`;
  if (resumed.refLogps) {
    const prev = RefLogpCache.fromJSON(resumed.refLogps);
    const entries = prev.toJSON().entries[refId] ?? {};
    for (const [k, v] of Object.entries(entries)) if (!cache.has(refId, k)) cache.set(refId, k, v);
  }
  let ownReference: GPTModel | null = null;
  const reference = useRef
    ? (o.reference ?? (ownReference = cloneModel(o.model, { trainable: false })))
    : null;
  if (
    reference &&
    reference.params.size &&
    [...reference.params.values()].some((v) => [...o.model.params.values()].includes(v))
  ) {
    if (ownReference) disposeModel(ownReference);
    throw new Error("the reference model shares variables with the policy; pass a separate (cloned) model");
  }
  return {
    refId,
    reference,
    extraState: () =>
      useRef
        ? {
            referenceId: refId,
            refLogps: { version: 1, entries: { [refId]: cache.toJSON().entries[refId] ?? {} } },
          }
        : {},
    get: (key) => cache.get(refId, key) as Record<string, number>,
    fill: async (items, names, seqsOf) => {
      if (!reference) return;
      const missing = items.filter((it) => !cache.has(refId, it.key));
      if (!missing.length) return;
      const k = names.length;
      const lp = await referenceLogps(
        reference,
        missing.flatMap(seqsOf),
        o.tokenizer.padId,
        pcfg.padMultiple,
        pcfg.batchSize * 2,
      );
      missing.forEach((it, i) =>
        cache.set(refId, it.key, Object.fromEntries(names.map((n, j) => [n, lp[k * i + j] as number]))),
      );
    },
    dispose: () => {
      if (ownReference) disposeModel(ownReference);
    },
  };
}

/** KTO on unpaired {prompt, completion, label} examples. */
async function trainKto(o: PreferenceOptions, ref: ReferenceSetup): Promise<TrainResult> {
  const cfg = o.config ?? {};
  const pcfg = parseTrainConfig(cfg);
  const maxLen = maxLengthOf(o.model, cfg);
  const tok = o.tokenizer;
  const beta = o.beta ?? 0.1;
  const data = o.data as UnpairedExample[];
  if (data.some((d) => typeof (d as Partial<UnpairedExample>).label !== "boolean")) {
    throw new Error("kto needs unpaired examples {prompt, completion, label: boolean}");
  }
  const n = data.length;
  const items: KtoItem[] = data.map((d, i) => {
    const prev = data[(i - 1 + n) % n] as UnpairedExample; // TRL: completions cycled by one
    const seq = promptCompletionSequence(tok, d.prompt, d.completion, maxLen);
    const kl = promptCompletionSequence(tok, d.prompt, prev.completion, maxLen);
    const key = d.key ?? contentKey(d.prompt, d.completion, d.label);
    const klKey = prev.key ?? contentKey(prev.prompt, prev.completion, prev.label);
    return {
      key: `${key}|kl:${klKey}`,
      seq,
      kl,
      label: d.label ? 1 : 0,
      tokens: seq.ids.length,
      fingerprint: seqFingerprint(seq, kl),
    };
  });
  const refOf = (it: KtoItem) => ref.get(it.key) as { completion: number; kl: number };
  return runTraining({
    ...o,
    loop: "preference",
    items,
    config: cfg,
    extraState: ref.extraState,
    meta: { method: "kto", beta, referenceId: ref.refId, ...o.meta },
    prepare: (train, ev) => ref.fill([...train, ...ev], ["completion", "kl"], (it) => [it.seq, it.kl]),
    batchLoss: (batch) => {
      const B = batch.length;
      const { logps } = seqLogps(
        o.model,
        [...batch.map((b) => b.seq), ...batch.map((b) => b.kl)],
        tok.padId,
        pcfg.padMultiple,
      );
      return ktoLoss(
        {
          policyLogps: tf.slice(logps, [0], [B]) as tf.Tensor1D,
          policyKlLogps: stopGradient(tf.slice(logps, [B], [B]) as tf.Tensor1D),
          refLogps: tf.tensor1d(batch.map((b) => refOf(b).completion)),
          refKlLogps: tf.tensor1d(batch.map((b) => refOf(b).kl)),
          labels: tf.tensor1d(batch.map((b) => b.label)),
        },
        { beta, desirableWeight: o.desirableWeight, undesirableWeight: o.undesirableWeight },
      );
    },
  });
}

/** The pairwise methods (DPO family, CPO, SimPO, ORPO) on {prompt, chosen, rejected} pairs. */
async function trainPairwise(
  o: PreferenceOptions,
  pm: PairwiseMethod,
  ref: ReferenceSetup,
): Promise<TrainResult> {
  const cfg = o.config ?? {};
  const pcfg = parseTrainConfig(cfg);
  const maxLen = maxLengthOf(o.model, cfg);
  const tok = o.tokenizer;
  const useRef = ref.reference !== null;
  const hp: PreferenceLossOptions = {
    beta: o.beta ?? 0.1,
    simpoGamma: o.simpoGamma,
    cpoAlpha: o.cpoAlpha,
    rpoAlpha: o.rpoAlpha,
  };
  const data = o.data as PreferencePair[];
  if (
    data.some(
      (d) =>
        (d as Partial<PreferencePair>).chosen === undefined ||
        (d as Partial<PreferencePair>).rejected === undefined,
    )
  ) {
    throw new Error(`${pm} needs preference pairs {prompt, chosen, rejected}`);
  }
  const items: PairItem[] = data.map((p) => {
    const chosen = promptCompletionSequence(tok, p.prompt, p.chosen, maxLen);
    const rejected = promptCompletionSequence(tok, p.prompt, p.rejected, maxLen);
    const eps = p.labelSmoothing ?? o.labelSmoothing ?? 0;
    if (pm === "robust" && !(eps >= 0 && eps < 0.5))
      throw new Error(`robust needs labelSmoothing in [0, 0.5), got ${eps}`);
    return {
      key: pairKey(p),
      chosen,
      rejected,
      eps,
      tokens: chosen.ids.length + rejected.ids.length,
      fingerprint: seqFingerprint(chosen, rejected),
    };
  });
  const refOf = (it: PairItem) => ref.get(it.key) as { chosen: number; rejected: number };
  return runTraining({
    ...o,
    loop: "preference",
    items,
    config: cfg,
    extraState: ref.extraState,
    meta: { method: pm, beta: hp.beta, referenceId: useRef ? ref.refId : null, ...o.meta },
    prepare: (train, ev) =>
      ref.fill([...train, ...ev], ["chosen", "rejected"], (it) => [it.chosen, it.rejected]),
    batchLoss: (batch) => {
      const B = batch.length;
      const { logps, counts } = seqLogps(
        o.model,
        [...batch.map((b) => b.chosen), ...batch.map((b) => b.rejected)],
        tok.padId,
        pcfg.padMultiple,
      );
      return preferenceLoss(
        pm,
        {
          policyChosenLogps: tf.slice(logps, [0], [B]) as tf.Tensor1D,
          policyRejectedLogps: tf.slice(logps, [B], [B]) as tf.Tensor1D,
          chosenLengths: tf.tensor1d(counts.slice(0, B)),
          rejectedLengths: tf.tensor1d(counts.slice(B)),
          refChosenLogps: useRef ? tf.tensor1d(batch.map((b) => refOf(b).chosen)) : undefined,
          refRejectedLogps: useRef ? tf.tensor1d(batch.map((b) => refOf(b).rejected)) : undefined,
        },
        {
          ...hp,
          labelSmoothing: batch.some((b) => b.eps !== 0) ? tf.tensor1d(batch.map((b) => b.eps)) : 0,
        },
      );
    },
  });
}
