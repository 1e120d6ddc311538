// Full definition of the GPT decoder (policy) and the reward model, all of it in this file.
// GPT-2 architecture: token + learned position embeddings, nLayer pre-LayerNorm blocks of causal
// self-attention and a GELU(tanh) MLP, a final LayerNorm, and an LM head tied to the token
// embedding. Parameter names and layouts are Hugging Face GPT-2's (Conv1D weights are (in, out)),
// so a checkpoint's model.safetensors loads in `transformers.GPT2LMHeadModel`; the reward model adds
// `score.weight` (1, C) as GPT2ForSequenceClassification does.
//
// Shapes: B batch, T time, C = nEmbd, nh = nHead, hs = C / nh, V = vocabSize.
import * as tf from "@tensorflow/tfjs";
import {
  type ModelConfig,
  type ModelConfigInput,
  type PresetName,
  PRESETS,
  parseModelConfig,
} from "./config";
import { fusedOps } from "./backend";
import { llamaForwardHidden, llamaHeadName, llamaParameterShapes } from "./hf/llama";
import { Rng } from "./rng";

export type ModelKind = "policy" | "reward";

/** A GPT decoder: its config and its variables keyed by Hugging Face GPT-2 parameter name. */
export interface GPTModel {
  kind: ModelKind;
  config: ModelConfig;
  /** Unique per process; prefixes the tfjs variable names. */
  id: string;
  /** HF name -> variable, in a fixed order (the save and optimizer order). */
  params: Map<string, tf.Variable>;
}

/** Per-layer attention keys/values of the tokens seen so far: (B, nh, Tpast, hs) each. */
export type KVCache = { k: tf.Tensor4D; v: tf.Tensor4D }[];

let modelCounter = 0;

/** Expected parameter shapes of a config, in save order. */
export function parameterShapes(cfg: ModelConfig, kind: ModelKind): [string, number[]][] {
  if (cfg.hf && cfg.hf.family !== "gpt2") return llamaParameterShapes(cfg, cfg.hf, kind);
  const C = cfg.nEmbd;
  const out: [string, number[]][] = [
    ["transformer.wte.weight", [cfg.vocabSize, C]],
    ["transformer.wpe.weight", [cfg.contextLength, C]],
  ];
  for (let i = 0; i < cfg.nLayer; i++) {
    const h = `transformer.h.${i}`;
    out.push(
      [`${h}.ln_1.weight`, [C]],
      [`${h}.ln_1.bias`, [C]],
      [`${h}.attn.c_attn.weight`, [C, 3 * C]],
      [`${h}.attn.c_attn.bias`, [3 * C]],
      [`${h}.attn.c_proj.weight`, [C, C]],
      [`${h}.attn.c_proj.bias`, [C]],
      [`${h}.ln_2.weight`, [C]],
      [`${h}.ln_2.bias`, [C]],
      [`${h}.mlp.c_fc.weight`, [C, 4 * C]],
      [`${h}.mlp.c_fc.bias`, [4 * C]],
      [`${h}.mlp.c_proj.weight`, [4 * C, C]],
      [`${h}.mlp.c_proj.bias`, [C]],
    );
  }
  out.push(["transformer.ln_f.weight", [C]], ["transformer.ln_f.bias", [C]]);
  if (kind === "reward") out.push(["score.weight", [1, C]]);
  return out;
}

function resolveConfig(config: ModelConfigInput | PresetName): ModelConfig {
  return parseModelConfig(typeof config === "string" ? PRESETS[config] : config);
}

/** GPT-2 initialisation, drawn in JS from `seed` so it is identical on every backend. */
function initValue(name: string, shape: number[], cfg: ModelConfig, rng: Rng): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  if (/(ln_1|ln_2|ln_f|norm|layernorm)\.weight$/.test(name)) v.fill(1);
  else if (name.endsWith(".bias")) v.fill(0);
  else {
    // residual projections scaled by 1/sqrt(2 * nLayer) (GPT-2 paper)
    const std = name.endsWith("c_proj.weight") ? cfg.initStd / Math.sqrt(2 * cfg.nLayer) : cfg.initStd;
    for (let i = 0; i < n; i++) v[i] = rng.normal() * std;
  }
  return v;
}

function makeModel(
  kind: ModelKind,
  cfg: ModelConfig,
  values: (name: string, shape: number[]) => tf.Tensor,
): GPTModel {
  const id = `gpt${modelCounter++}`;
  const params = new Map<string, tf.Variable>();
  for (const [name, shape] of parameterShapes(cfg, kind)) {
    const t = values(name, shape);
    if (t.shape.join(",") !== shape.join(",")) throw new Error(`${name}: shape ${t.shape} != ${shape}`);
    params.set(name, tf.variable(t, true, `${id}/${name}`));
    t.dispose();
  }
  return { kind, config: cfg, id, params };
}

/** A freshly initialised policy (language model). `config` is a preset name or a full config. */
export function createPolicy(config: ModelConfigInput | PresetName, seed = 0): GPTModel {
  const cfg = resolveConfig(config);
  const rng = new Rng(seed);
  return makeModel("policy", cfg, (name, shape) => tf.tensor(initValue(name, shape, cfg, rng), shape));
}

/**
 * A reward model: the GPT backbone plus a scalar head read at the last non-pad token.
 * From a config: fresh weights. From a policy: its backbone weights are copied (the policy is untouched)
 * and the head is initialised from `seed`.
 */
export function createRewardModel(from: ModelConfigInput | PresetName | GPTModel, seed = 0): GPTModel {
  const rng = new Rng(seed);
  if (typeof from === "object" && "params" in from) {
    const src = from;
    return makeModel("reward", src.config, (name, shape) => {
      const p = src.params.get(name);
      return p ? p.clone() : tf.tensor(initValue(name, shape, src.config, rng), shape);
    });
  }
  const cfg = resolveConfig(from);
  return makeModel("reward", cfg, (name, shape) => tf.tensor(initValue(name, shape, cfg, rng), shape));
}

/** Builds a model from named tensors (e.g. a loaded checkpoint); shapes are checked by the caller. */
export function modelFromTensors(
  kind: ModelKind,
  config: ModelConfig,
  tensors: Map<string, tf.Tensor>,
): GPTModel {
  return makeModel(kind, config, (name) => {
    const t = tensors.get(name);
    if (!t) throw new Error(`missing tensor ${name}`);
    return t.clone();
  });
}

/** A frozen copy (non-trainable variables), e.g. the DPO reference model. */
export function cloneModel(model: GPTModel, opts: { trainable?: boolean } = {}): GPTModel {
  const copy = makeModel(model.kind, model.config, (name) => (model.params.get(name) as tf.Variable).clone());
  if (opts.trainable === false) for (const v of copy.params.values()) v.trainable = false;
  return copy;
}

/** Frees a model's variables. */
export function disposeModel(model: GPTModel): void {
  for (const v of model.params.values()) v.dispose();
  model.params.clear();
}

export function numParams(model: GPTModel): number {
  let n = 0;
  for (const v of model.params.values()) n += v.size;
  return n;
}

/** The variables an optimizer should update (all of this model's). */
export function trainableVariables(model: GPTModel): tf.Variable[] {
  return [...model.params.values()];
}

// ---------------------------------------------------------------------------------------------
// Forward pass

function P(model: GPTModel, name: string): tf.Variable {
  const p = model.params.get(name);
  if (!p) throw new Error(`model ${model.id} has no parameter ${name}`);
  return p;
}

/** Swaps the last two axes. */
function swapLast2(x: tf.Tensor): tf.Tensor {
  const perm = x.shape.map((_, i) => i);
  const n = perm.length;
  [perm[n - 2], perm[n - 1]] = [perm[n - 1] as number, perm[n - 2] as number];
  return tf.transpose(x, perm);
}

/** a @ b with plain (non-transposed) matmuls in both directions; grads: da = dy b^T, db = a^T dy. */
const matMulNN = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor, tf.Tensor];
      return [tf.matMul(dy, swapLast2(sb)), tf.matMul(swapLast2(sa), dy)];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/**
 * a @ b (or a @ b^T). On WASM a matmul with a transposed operand runs ~10x slower than a plain one
 * (3.5 vs 35-43 GFLOP/s measured, 1024x128x384), and tf.matMul's gradient uses transposed operands,
 * so there we transpose explicitly (a cheap copy) and use plain matmuls forward and backward.
 */
function matmul(a: tf.Tensor, b: tf.Tensor, transposeB = false): tf.Tensor {
  if (tf.getBackend() !== "wasm") return tf.matMul(a, b, false, transposeB);
  return matMulNN(a, transposeB ? swapLast2(b) : b);
}

/** x (..., in) @ W (in, out) + b (out) */
function linear(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const inDim = x.shape[x.shape.length - 1] as number;
  const outDim = w.shape[1] as number;
  const y = tf.add(matmul(tf.reshape(x, [-1, inDim]), w), b);
  return tf.reshape(y, [...x.shape.slice(0, -1), outDim]);
}

function layerNorm(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, eps: number): tf.Tensor {
  const fused = fusedOps(); // one kernel each way where the backend has it (cuda)
  if (fused) return fused.layerNorm(x, g, b, eps);
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), g), b);
}

/** GELU, tanh approximation (GPT-2's "gelu_new"). */
function gelu(x: tf.Tensor): tf.Tensor {
  const fused = fusedOps();
  if (fused) return fused.gelu(x);
  const x3 = tf.mul(tf.mul(x, x), x); // cheaper than tf.pow on WASM
  const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, x3)));
  return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
}

/**
 * One-hot as float32. tfjs-backend-wasm 4.22 writes the int bit patterns into a float32 oneHot
 * (1 reads as 1.4e-45), so build it as int32 and cast: correct on every backend.
 */
function oneHotF32(indices: tf.Tensor, depth: number): tf.Tensor {
  return tf.cast(tf.oneHot(indices as tf.Tensor1D, depth), "float32");
}

/** Additive causal mask (T, Tpast + T): query t sees keys 0..Tpast + t. */
function causalMask(T: number, past: number): tf.Tensor2D {
  const S = past + T;
  const m = new Float32Array(T * S);
  for (let t = 0; t < T; t++) for (let s = past + t + 1; s < S; s++) m[t * S + s] = -1e9;
  return tf.tensor2d(m, [T, S]);
}

/** (B, T, C) -> (B, nh, T, hs) */
function splitHeads(x: tf.Tensor, nh: number): tf.Tensor4D {
  const [B, T, C] = x.shape as [number, number, number];
  return tf.transpose(tf.reshape(x, [B, T, nh, C / nh]), [0, 2, 1, 3]) as tf.Tensor4D;
}

/**
 * Runs the transformer over ids (B, T) int32 whose first token sits at position `past`, and returns
 * the final hidden states (B, T, C). If `cache` is given (one entry per layer, or empty to start),
 * keys/values are appended to it: the caller owns (keeps and disposes) the returned cache tensors.
 */
export function forwardHidden(
  model: GPTModel,
  ids: tf.Tensor2D,
  opts: { past?: number; cache?: KVCache; newCache?: KVCache } = {},
): tf.Tensor3D {
  const cfg = model.config;
  const [B, T] = ids.shape;
  const past = opts.past ?? 0;
  if (past + T > cfg.contextLength) {
    throw new Error(`sequence of ${past + T} tokens exceeds the model's contextLength ${cfg.contextLength}`);
  }
  if (cfg.hf && cfg.hf.family !== "gpt2") return llamaForwardHidden(model, cfg.hf, ids, opts);
  const C = cfg.nEmbd;
  const nh = cfg.nHead;
  const hs = C / nh;
  const tok = tf.reshape(tf.gather(P(model, "transformer.wte.weight"), tf.reshape(ids, [-1])), [B, T, C]);
  const pos = tf.slice(P(model, "transformer.wpe.weight"), [past, 0], [T, C]); // (T, C)
  let x: tf.Tensor = tf.add(tok, pos); // (B, T, C)
  // a single new token may see every cached key; fused attention masks inside its kernel
  const mask = T > 1 && !fusedOps() ? causalMask(T, past) : null;
  for (let i = 0; i < cfg.nLayer; i++) {
    const h = `transformer.h.${i}`;
    // --- attention
    const a = layerNorm(x, P(model, `${h}.ln_1.weight`), P(model, `${h}.ln_1.bias`), cfg.layerNormEps);
    const qkv = linear(a, P(model, `${h}.attn.c_attn.weight`), P(model, `${h}.attn.c_attn.bias`)); // (B,T,3C)
    const [q, k0, v0] = tf.split(qkv, 3, -1) as [tf.Tensor, tf.Tensor, tf.Tensor];
    let k = splitHeads(k0, nh); // (B,nh,T,hs)
    let v = splitHeads(v0, nh);
    const prev = opts.cache?.[i];
    if (prev) {
      k = tf.concat([prev.k, k], 2) as tf.Tensor4D; // (B,nh,Tpast+T,hs)
      v = tf.concat([prev.v, v], 2) as tf.Tensor4D;
    }
    if (opts.newCache) opts.newCache[i] = { k: tf.keep(k), v: tf.keep(v) };
    const fused = fusedOps();
    let att: tf.Tensor;
    if (fused)
      att = fused.causalSoftmax(matmul(splitHeads(q, nh), k, true), 1 / Math.sqrt(hs)); // (B,nh,T,Ttot)
    else {
      att = tf.mul(matmul(splitHeads(q, nh), k, true), 1 / Math.sqrt(hs)); // (B,nh,T,Ttot)
      if (mask) att = tf.add(att, mask);
      att = tf.softmax(att, -1);
    }
    const y = tf.reshape(tf.transpose(matmul(att, v), [0, 2, 1, 3]), [B, T, C]); // (B,T,C)
    x = tf.add(x, linear(y, P(model, `${h}.attn.c_proj.weight`), P(model, `${h}.attn.c_proj.bias`)));
    // --- MLP
    const m = layerNorm(x, P(model, `${h}.ln_2.weight`), P(model, `${h}.ln_2.bias`), cfg.layerNormEps);
    const f = gelu(linear(m, P(model, `${h}.mlp.c_fc.weight`), P(model, `${h}.mlp.c_fc.bias`))); // (B,T,4C)
    x = tf.add(x, linear(f, P(model, `${h}.mlp.c_proj.weight`), P(model, `${h}.mlp.c_proj.bias`)));
  }
  return layerNorm(
    x,
    P(model, "transformer.ln_f.weight"),
    P(model, "transformer.ln_f.bias"),
    cfg.layerNormEps,
  ) as tf.Tensor3D;
}

/** LM head, tied to the token embedding: hidden (..., C) -> logits (..., V). */
export function lmHead(model: GPTModel, hidden: tf.Tensor): tf.Tensor {
  const C = model.config.nEmbd;
  const hf = model.config.hf;
  const head = hf && hf.family !== "gpt2" ? llamaHeadName(hf) : "transformer.wte.weight";
  const logits = matmul(tf.reshape(hidden, [-1, C]), P(model, head), true);
  return tf.reshape(logits, [...hidden.shape.slice(0, -1), model.config.vocabSize]);
}

/** Logits (B, T, V) for ids (B, T). */
export function forwardLogits(model: GPTModel, ids: tf.Tensor2D): tf.Tensor3D {
  return lmHead(model, forwardHidden(model, ids)) as tf.Tensor3D;
}

/**
 * Log-probability of each target token: ids (B,T) predict targets (B,T) -> (B,T).
 * log_softmax(logits)[target], computed as a one-hot contraction (no gather gradient needed).
 */
export function tokenLogProbs(model: GPTModel, ids: tf.Tensor2D, targets: tf.Tensor2D): tf.Tensor2D {
  const logits = forwardLogits(model, ids); // (B,T,V)
  const fused = fusedOps();
  if (fused) return fused.tokenLogProbs(logits, targets) as tf.Tensor2D;
  const logp = tf.sub(logits, tf.logSumExp(logits, -1, true)); // (B,T,V)
  const onehot = oneHotF32(targets, model.config.vocabSize); // (B,T,V)
  return tf.sum(tf.mul(logp, onehot), -1) as tf.Tensor2D;
}

/**
 * Reward model scores: ids (B,T), lastIndex (B) int32 = position of the last non-pad token -> (B).
 * Reads the hidden state at lastIndex (one-hot contraction) and applies score.weight (1, C).
 */
export function rewardScores(model: GPTModel, ids: tf.Tensor2D, lastIndex: tf.Tensor1D): tf.Tensor1D {
  if (model.kind !== "reward") throw new Error("rewardScores needs a reward model (createRewardModel)");
  const [B, T] = ids.shape;
  const h = forwardHidden(model, ids); // (B,T,C)
  const pick = tf.expandDims(oneHotF32(lastIndex, T), -1); // (B,T,1)
  const last = tf.sum(tf.mul(h, pick), 1); // (B,C)
  return tf.reshape(matmul(last, P(model, "score.weight"), true), [B]) as tf.Tensor1D;
}
