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

type Sampling = { temperature?: number; topK?: number; topP?: number; banned?: readonly number[] };

/**
 * The sampler of the GPU path: greedy tokens come from the device's argmax (pad excluded, first
 * maximum, as `sampleFromLogits`); plain temperature sampling (no top-k / top-p) draws from the
 * softmax in vocabulary order, without sorting V logits per row and token (a seed reproduces a
 * sample on this path); top-k / top-p use `sampleFromLogits`.
 */
function sampleOnGpuPath(
  out: { logits: Float32Array | null; argmax: number },
  o: Sampling,
  rng: Rng,
): number {
  const temperature = o.temperature ?? 1;
  if (temperature <= 0 || !out.logits) return out.argmax;
  if ((o.topK ?? 0) > 0 || (o.topP ?? 1) < 1) return sampleFromLogits(out.logits, o, rng);
  return sampleSoftmax(out.logits, temperature, o.banned ?? [], rng);
}

/** A draw from softmax(logits / temperature) in vocabulary order, banned ids excluded. */
export function sampleSoftmax(
  logits: Float32Array,
  temperature: number,
  banned: readonly number[],
  rng: Rng,
): number {
  const V = logits.length;
  const ban = new Uint8Array(V);
  for (const b of banned) if (b >= 0 && b < V) ban[b] = 1;
  let m = -Infinity;
  for (let i = 0; i < V; i++) if (!ban[i] && (logits[i] as number) > m) m = logits[i] as number;
  const p = new Float64Array(V);
  let z = 0;
  for (let i = 0; i < V; i++) if (!ban[i]) z += p[i] = Math.exp(((logits[i] as number) - m) / temperature);
  let u = rng.next() * z;
  let last = -1;
  for (let i = 0; i < V; i++) {
    if (ban[i]) continue;
    last = i;
    u -= p[i] as number;
    if (u < 0) return i;
  }
  return last;
}

/** The GPU decoder module when `model` can use it (cuda backend, GPT-2 policy), else null. */
async function cudaEngine(model: GPTModel): Promise<typeof import("./cuda/decode") | null> {
  if (tf.getBackend() !== "cuda") return null;
  const m = await import("./cuda/decode");
  return m.cudaDecodeAvailable(model) ? m : null;
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
  // On the cuda backend a GPT-2 policy decodes with the native engine (trainer/cuda/decode.ts).
  const engine = await cudaEngine(model);
  const gpu = engine ? new engine.CudaDecoder(model, 1, promptIds.length + maxTokens, tok.padId) : null;
  const greedy = (opts.temperature ?? 1) <= 0;
  /** Feeds ids at position pos; the next token's logits, or (GPU, greedy) just the argmax. */
  const step = async (ids: number[]): Promise<{ logits: Float32Array | null; argmax: number }> => {
    if (gpu) {
      const r = gpu.step(Int32Array.from(ids), ids.length, pos, !greedy);
      pos += ids.length;
      return { logits: r.logits, argmax: r.argmax[0] as number };
    }
    const newCache: KVCache = [];
    const logitsT = tf.tidy(() => {
      const x = tf.tensor2d([ids], [1, ids.length], "int32");
      const h = forwardHidden(model, x, { past: pos, cache, newCache }); // (1,T,C)
      const last = tf.slice(h, [0, ids.length - 1, 0], [1, 1, model.config.nEmbd]);
      return tf.reshape(lmHead(model, last), [-1]) as tf.Tensor1D;
    });
    for (const c of cache) tf.dispose([c.k, c.v]);
    cache = newCache;
    pos += ids.length;
    const logits = (await logitsT.data()) as Float32Array; // sync point, once per token
    logitsT.dispose();
    return { logits, argmax: -1 };
  };

  const dec = tok.streamDecoder();
  const tokens: number[] = [];
  let text = "";
  let emitted = 0;
  let finishReason: GenerateResult["finishReason"] = "length";
  let next = promptIds;
  try {
    while (tokens.length < maxTokens && pos + next.length <= ctx) {
      const out = await step(next);
      const id = gpu
        ? sampleOnGpuPath(out, sampling, rng)
        : sampleFromLogits(out.logits as Float32Array, sampling, rng);
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
    gpu?.dispose();
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

export interface BatchSamplingOptions extends Omit<SamplingOptions, "onToken" | "promptIds"> {
  /** One seed per prompt (default: `seed` for every prompt). */
  seeds?: readonly number[];
  /** Token ids per prompt, used instead of encoding the prompts. */
  promptIds?: readonly (readonly number[])[];
  /** Rows decoded together on the GPU (default 64). */
  batchSize?: number;
  /** Keep generating past <|endoftext|> / <|end|> (benchmarks; vLLM's ignore_eos). */
  ignoreEos?: boolean;
  /**
   * "auto" (default): the GPU engine when the cuda backend can run the model, else one `generate`
   * per prompt (the results of today's per-prompt path). "batched": the batched loop over tfjs with a
   * KV cache on any backend (tests); "sequential": one `generate` per prompt.
   */
  engine?: "auto" | "batched" | "sequential";
}

/** One row of a batched generation: its prompt, sampling state and output so far. */
class Row {
  tokens: number[] = [];
  text = "";
  done = false;
  finishReason: GenerateResult["finishReason"] = "length";
  readonly dec: ReturnType<BpeTokenizer["streamDecoder"]>;
  constructor(
    readonly prompt: number[],
    readonly promptTokens: number,
    readonly maxTokens: number,
    readonly rng: Rng,
    readonly stops: string[],
    tok: BpeTokenizer,
  ) {
    this.dec = tok.streamDecoder();
    if (maxTokens <= 0) this.done = true;
  }
  /** The token this row feeds at position p (pad once it is done). */
  tokenAt(p: number, pad: number): number {
    if (p < this.prompt.length) return this.prompt[p] as number;
    return this.tokens[p - this.prompt.length] ?? pad;
  }
}

/**
 * Completions for many prompts at once. On the cuda backend a GPT-2 policy decodes in batches of
 * `batchSize` rows with a KV cache on the GPU (trainer/cuda/decode.ts): every row advances one
 * position per step (the common prompt prefix first, in one step), each row samples with its own
 * generator (seeds[i]) and stops on its own at <|endoftext|> / <|end|>, a stop string, maxTokens or
 * the context. Elsewhere it runs `generate` per prompt, so CPU / WASM / WebGPU results are those of
 * today. Results are in prompt order, as `generate` returns them.
 */
export async function generateBatch(
  model: GPTModel,
  tok: BpeTokenizer,
  prompts: readonly (string | ChatMessage[])[],
  opts: BatchSamplingOptions = {},
): Promise<GenerateResult[]> {
  if (model.kind !== "policy") throw new Error("generate needs a policy model");
  const seedOf = (i: number) => opts.seeds?.[i] ?? opts.seed ?? 0;
  const engine = opts.engine ?? "auto";
  const gpu = engine === "sequential" ? null : await cudaEngine(model);
  if (!gpu && engine !== "batched") {
    const out: GenerateResult[] = [];
    for (const [i, p] of prompts.entries())
      out.push(
        await generate(model, tok, p, {
          ...opts,
          seed: seedOf(i),
          promptIds: opts.promptIds?.[i] ? [...(opts.promptIds[i] as number[])] : undefined,
        }),
      );
    return out;
  }
  const ctx = model.config.contextLength;
  const maxTokens = opts.maxTokens ?? 128;
  const stops = (typeof opts.stop === "string" ? [opts.stop] : (opts.stop ?? [])).filter((x) => x.length > 0);
  const sampling = { temperature: opts.temperature, topK: opts.topK, topP: opts.topP, banned: [tok.padId] };
  const endIds = new Set(opts.ignoreEos ? [] : [tok.eosId, tok.endId]);
  const rows = prompts.map((p, i) => {
    let ids = opts.promptIds?.[i] ? [...(opts.promptIds[i] as number[])] : encodePrompt(tok, p);
    const n = ids.length;
    if (ids.length > ctx - 1) ids = ids.slice(ids.length - (ctx - 1));
    return new Row(ids, n, maxTokens, new Rng(seedOf(i)), stops, tok);
  });
  const size = Math.max(1, opts.batchSize ?? 64);
  for (let i = 0; i < rows.length; i += size) {
    const chunk = rows.slice(i, i + size);
    await decodeRows(model, tok, chunk, { sampling, endIds, skipSpecial: !!opts.skipSpecialTokens }, gpu);
  }
  return rows.map((r) => ({
    text: r.text,
    tokens: r.tokens,
    finishReason: r.finishReason,
    promptTokens: r.promptTokens,
    completionTokens: r.tokens.length + (r.finishReason === "stop" ? 1 : 0),
  }));
}

/** Decodes rows together until each is done: the GPU engine, or tfjs with a KV cache. */
async function decodeRows(
  model: GPTModel,
  tok: BpeTokenizer,
  rows: Row[],
  o: { sampling: Sampling; endIds: Set<number>; skipSpecial: boolean },
  gpu: typeof import("./cuda/decode") | null,
): Promise<void> {
  const B = rows.length;
  const ctx = model.config.contextLength;
  const V = model.config.vocabSize;
  const live = rows.filter((r) => !r.done);
  if (live.length === 0) return;
  const maxT = Math.min(ctx, Math.max(...live.map((r) => r.prompt.length + r.maxTokens)));
  const greedy = (o.sampling.temperature ?? 1) <= 0;
  const dev = gpu ? new gpu.CudaDecoder(model, B, maxT, tok.padId) : null;
  let cache: KVCache = [];
  const step = async (ids: Int32Array, T: number, pos0: number) => {
    if (dev) return dev.step(ids, T, pos0, !greedy);
    const newCache: KVCache = [];
    const t = tf.tidy(() => {
      const h = forwardHidden(model, tf.tensor2d(ids, [B, T], "int32"), { past: pos0, cache, newCache });
      const last = tf.slice(h, [0, T - 1, 0], [B, 1, model.config.nEmbd]);
      return tf.reshape(lmHead(model, last), [B, V]);
    });
    for (const c of cache) tf.dispose([c.k, c.v]);
    cache = newCache;
    const logits = (await t.data()) as Float32Array;
    t.dispose();
    return { argmax: null, logits };
  };
  try {
    let pos0 = 0;
    let T = Math.max(1, Math.min(...rows.map((r) => r.prompt.length)));
    while (rows.some((r) => !r.done) && pos0 + T <= maxT) {
      const ids = new Int32Array(B * T);
      for (let b = 0; b < B; b++)
        for (let t = 0; t < T; t++) ids[b * T + t] = (rows[b] as Row).tokenAt(pos0 + t, tok.padId);
      const q = pos0 + T - 1; // the position whose next-token logits this step gives
      const out = await step(ids, T, pos0);
      for (let b = 0; b < B; b++) {
        const r = rows[b] as Row;
        if (r.done || q !== r.prompt.length - 1 + r.tokens.length) continue;
        const logits = out.logits ? out.logits.subarray(b * V, (b + 1) * V) : null;
        const id = dev
          ? sampleOnGpuPath({ logits, argmax: out.argmax?.[b] ?? -1 }, o.sampling, r.rng)
          : sampleFromLogits(logits as Float32Array, o.sampling, r.rng);
        acceptToken(r, id, q, ctx, tok, o);
      }
      pos0 += T;
      T = 1;
    }
    for (const r of rows) r.done = true;
  } finally {
    for (const c of cache) tf.dispose([c.k, c.v]);
    dev?.dispose();
  }
}

/** A row's new token, with generateStream's stopping rules. */
function acceptToken(
  r: Row,
  id: number,
  q: number,
  ctx: number,
  tok: BpeTokenizer,
  o: { endIds: Set<number>; skipSpecial: boolean },
): void {
  if (o.endIds.has(id)) {
    r.finishReason = "stop";
    r.done = true;
    return;
  }
  r.tokens.push(id);
  if (!(o.skipSpecial && tok.isSpecial(id) && id !== tok.thinkId && id !== tok.endThinkId))
    r.text += r.dec.push([id]);
  if (r.stops.length) {
    const hit = r.stops.map((x) => r.text.indexOf(x)).filter((i) => i >= 0);
    if (hit.length) {
      r.text = r.text.slice(0, Math.min(...hit));
      r.finishReason = "stop";
      r.done = true;
      return;
    }
  }
  if (r.tokens.length >= r.maxTokens || q + 2 > ctx) {
    r.text += r.dec.flush();
    r.done = true;
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
