// Inference: sampling with a KV cache (temperature, top-k, top-p, stop strings, seed), streaming,
// completion log-probs (for KL estimates) and reward-model scores.
//
// Each new token costs one forward pass over one position plus one device->host read of the
// logits (V floats): sampling runs in JS with a seeded generator, so a seed reproduces the same
// text on the same backend.
import * as tf from "@tensorflow/tfjs";
import { encodePrompt, makeBatch, makeScoreBatch, promptCompletionSequence } from "./data";
import { sequenceLogpsFromTokens } from "./losses";
import { forwardHidden, type GPTModel, type KVCache, lmHead, rewardScores, tokenLogProbs } from "./model";
import { Rng } from "./rng";
import type { BpeTokenizer, ChatMessage } from "./tokenizer";

export interface SamplingOptions {
  /** Tokens to generate at most (default 128). */
  maxTokens?: number;
  /** Softmax temperature (default 1); 0 = greedy. */
  temperature?: number;
  /** Keep the k most likely tokens (0 = off). */
  topK?: number;
  /** Nucleus sampling: smallest set with probability >= topP (1 = off). */
  topP?: number;
  /** Stop strings: generation ends before the first occurrence (not included in the text). */
  stop?: string | string[];
  /** Seed of the sampler (default 0). */
  seed?: number;
  /** Token ids of the prompt, used instead of encoding `prompt` (e.g. ids made by another tokenizer run). */
  promptIds?: number[];
  /** Called with each new piece of text. */
  onToken?: (e: { token: number; text: string }) => void;
  /**
   * Leave special tokens (role markers such as <|assistant|>) out of the text, as vLLM and
   * transformers do by default; <think> and </think> stay: they are the answer's own text.
   */
  skipSpecialTokens?: boolean;
}

export interface GenerateResult {
  text: string;
  /** Generated token ids (without a terminating <|endoftext|> / <|end|>). */
  tokens: number[];
  finishReason: "stop" | "length";
  promptTokens: number;
  completionTokens: number;
}

/** Picks a token from logits (V) with temperature / top-k / top-p. Pure JS, deterministic given rng. */
export function sampleFromLogits(
  logits: Float32Array,
  o: { temperature?: number; topK?: number; topP?: number; banned?: readonly number[] },
  rng: Rng,
): number {
  const V = logits.length;
  const temperature = o.temperature ?? 1;
  const banned = new Set(o.banned ?? []);
  if (temperature <= 0) {
    let best = -1;
    let bv = -Infinity;
    for (let i = 0; i < V; i++)
      if (!banned.has(i) && (logits[i] as number) > bv) {
        bv = logits[i] as number;
        best = i;
      }
    return best;
  }
  let idx = Array.from({ length: V }, (_, i) => i).filter((i) => !banned.has(i));
  idx.sort((a, b) => (logits[b] as number) - (logits[a] as number) || a - b); // desc, stable on ties
  if (o.topK && o.topK > 0) idx = idx.slice(0, o.topK);
  const maxL = (logits[idx[0] as number] as number) / temperature;
  let probs = idx.map((i) => Math.exp((logits[i] as number) / temperature - maxL));
  let z = probs.reduce((a, b) => a + b, 0);
  probs = probs.map((p) => p / z);
  const topP = o.topP ?? 1;
  if (topP < 1) {
    let cum = 0;
    let keep = 0;
    while (keep < probs.length && cum < topP) cum += probs[keep++] as number;
    idx = idx.slice(0, Math.max(1, keep));
    probs = probs.slice(0, Math.max(1, keep));
    z = probs.reduce((a, b) => a + b, 0);
    probs = probs.map((p) => p / z);
  }
  let u = rng.next();
  for (let j = 0; j < probs.length; j++) {
    u -= probs[j] as number;
    if (u < 0) return idx[j] as number;
  }
  return idx[idx.length - 1] as number;
}

/**
 * Streams a completion: yields {token, text} per token (text may be "" while a multi-byte character
 * or a possible stop string is held back) and returns the GenerateResult.
 */
export async function* generateStream(
  model: GPTModel,
  tok: BpeTokenizer,
  prompt: string | ChatMessage[],
  opts: SamplingOptions = {},
): AsyncGenerator<{ token: number; text: string }, GenerateResult> {
  if (model.kind !== "policy") throw new Error("generate needs a policy model");
  const maxTokens = opts.maxTokens ?? 128;
  const stops = (typeof opts.stop === "string" ? [opts.stop] : (opts.stop ?? [])).filter((s) => s.length > 0);
  const holdBack = Math.max(0, ...stops.map((s) => s.length - 1));
  const rng = new Rng(opts.seed ?? 0);
  const ctx = model.config.contextLength;
  let promptIds = opts.promptIds ?? encodePrompt(tok, prompt);
  const promptTokens = promptIds.length;
  if (promptIds.length > ctx - 1) promptIds = promptIds.slice(promptIds.length - (ctx - 1)); // keep the end
  const endIds = new Set([tok.eosId, tok.endId]);
  const sampling = { temperature: opts.temperature, topK: opts.topK, topP: opts.topP, banned: [tok.padId] };

  let cache: KVCache = [];
  let pos = 0;
  const step = (ids: number[]): tf.Tensor1D => {
    const newCache: KVCache = [];
    const logits = tf.tidy(() => {
      const x = tf.tensor2d([ids], [1, ids.length], "int32");
      const h = forwardHidden(model, x, { past: pos, cache, newCache }); // (1,T,C)
      const last = tf.slice(h, [0, ids.length - 1, 0], [1, 1, model.config.nEmbd]);
      return tf.reshape(lmHead(model, last), [-1]) as tf.Tensor1D;
    });
    for (const c of cache) tf.dispose([c.k, c.v]);
    cache = newCache;
    pos += ids.length;
    return logits;
  };

  const dec = tok.streamDecoder();
  const tokens: number[] = [];
  let text = "";
  let emitted = 0;
  let finishReason: GenerateResult["finishReason"] = "length";
  let next = promptIds;
  try {
    while (tokens.length < maxTokens && pos + next.length <= ctx) {
      const logitsT = step(next);
      const logits = (await logitsT.data()) as Float32Array; // sync point, once per token
      logitsT.dispose();
      const id = sampleFromLogits(logits, sampling, rng);
      if (endIds.has(id)) {
        finishReason = "stop";
        break;
      }
      tokens.push(id);
      if (!(opts.skipSpecialTokens && tok.isSpecial(id) && id !== tok.thinkId && id !== tok.endThinkId))
        text += dec.push([id]);
      const hit = stops.map((s) => text.indexOf(s, Math.max(0, emitted - s.length))).filter((i) => i >= 0);
      if (hit.length) {
        text = text.slice(0, Math.min(...hit));
        finishReason = "stop";
        const piece = text.slice(emitted);
        if (piece) {
          opts.onToken?.({ token: id, text: piece });
          yield { token: id, text: piece };
        }
        emitted = text.length;
        break;
      }
      const upto = Math.max(emitted, text.length - holdBack);
      const piece = text.slice(emitted, upto);
      emitted = upto;
      opts.onToken?.({ token: id, text: piece });
      yield { token: id, text: piece };
      next = [id];
    }
    if (finishReason === "length" || emitted < text.length) {
      if (finishReason === "length") text += dec.flush();
      const rest = text.slice(emitted);
      if (rest) {
        opts.onToken?.({ token: -1, text: rest });
        yield { token: -1, text: rest };
      }
    }
  } finally {
    for (const c of cache) tf.dispose([c.k, c.v]);
  }
  return {
    text,
    tokens,
    finishReason,
    promptTokens,
    completionTokens: tokens.length + (finishReason === "stop" ? 1 : 0),
  };
}

/** Generates a completion for a text prompt or a conversation (chat template + "<|assistant|>"). */
export async function generate(
  model: GPTModel,
  tok: BpeTokenizer,
  prompt: string | ChatMessage[],
  opts: SamplingOptions = {},
): Promise<GenerateResult> {
  const it = generateStream(model, tok, prompt, opts);
  for (;;) {
    const r = await it.next();
    if (r.done) return r.value;
  }
}

/**
 * Log-probability of `completion` given `prompt` under a policy: the sum over completion tokens
 * (the terminating <|endoftext|>/<|end|> included), with per-token values. For KL estimates,
 * compare the same completion under two models.
 */
export async function sequenceLogProb(
  model: GPTModel,
  tok: BpeTokenizer,
  prompt: string | ChatMessage[],
  completion: string | ChatMessage[],
): Promise<{ logprob: number; tokens: number[]; tokenLogprobs: number[] }> {
  const seq = promptCompletionSequence(tok, prompt, completion, model.config.contextLength + 1);
  const b = makeBatch([seq], tok.padId);
  const lp = tf.tidy(() => tokenLogProbs(model, b.inputs, b.targets));
  const vals = await lp.data(); // sync point
  tf.dispose([lp, b.inputs, b.targets, b.mask]);
  const p = seq.lossMask.indexOf(1);
  const tokens = p < 0 ? [] : seq.ids.slice(p);
  const tokenLogprobs = p < 0 ? [] : Array.from(vals.slice(p - 1, seq.ids.length - 1));
  return { logprob: tokenLogprobs.reduce((a, b) => a + b, 0), tokens, tokenLogprobs };
}

/** Summed completion log-probs for many (prompt, completion) items, batched. */
export async function completionLogProbs(
  model: GPTModel,
  tok: BpeTokenizer,
  items: { prompt: string | ChatMessage[]; completion: string | ChatMessage[] }[],
  batchSize = 16,
): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < items.length; i += batchSize) {
    const seqs = items
      .slice(i, i + batchSize)
      .map((it) => promptCompletionSequence(tok, it.prompt, it.completion, model.config.contextLength + 1));
    const t = tf.tidy(() => {
      const b = makeBatch(seqs, tok.padId);
      return sequenceLogpsFromTokens(tokenLogProbs(model, b.inputs, b.targets), b.mask);
    });
    out.push(...(await t.data()));
    t.dispose();
  }
  return out;
}

/** Reward-model scores of (prompt, completion) items, read at each sequence's last token. */
export async function scoreRewards(
  rm: GPTModel,
  tok: BpeTokenizer,
  items: { prompt: string | ChatMessage[]; completion: string | ChatMessage[] }[],
  batchSize = 16,
): Promise<number[]> {
  const out: number[] = [];
  const ctx = rm.config.contextLength;
  for (let i = 0; i < items.length; i += batchSize) {
    const seqs = items
      .slice(i, i + batchSize)
      .map((it) => promptCompletionSequence(tok, it.prompt, it.completion, ctx).ids);
    const t = tf.tidy(() => {
      const b = makeScoreBatch(seqs, tok.padId);
      return rewardScores(rm, b.ids, b.lastIndex);
    });
    out.push(...(await t.data()));
    t.dispose();
  }
  return out;
}
