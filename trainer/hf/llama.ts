// Llama and Qwen2 decoders (Hugging Face LlamaForCausalLM / Qwen2ForCausalLM and their
// *ForSequenceClassification reward models), all of it in this file, over HF's parameter names and
// layouts (nn.Linear weights are (out, in)), so a folder loads and saves without renaming.
//
// Per layer: x += o_proj(attn(RoPE(q_proj(rms(x))), RoPE(k_proj(rms(x))), v_proj(rms(x))));
//            x += down_proj(silu(gate_proj(rms(x))) * up_proj(rms(x)))
// Grouped-query attention: nh query heads share nkv key/value heads (head j reads kv head j / (nh/nkv)),
// as transformers' repeat_kv; computed without repeating k/v: the g = nh/nkv query heads of a group
// are stacked along time, (B, nkv, g*T, hd), and attend to their group's keys at once. Qwen2 adds biases to q/k/v. Llama 3 rope scaling rescales the
// low-frequency inverse frequencies (transformers' _compute_llama3_parameters).
//
// Shapes: B batch, T time, S = past + T keys, C hidden, nh heads, nkv kv heads, hd head dim, I MLP width.
import * as tf from "@tensorflow/tfjs";
import type { ModelConfig } from "../config";
import type { GPTModel, KVCache, ModelKind } from "../model";
import type { HfArch } from "./config";

/** Parameter names and shapes of a llama/qwen2 model, in save order. */
export function llamaParameterShapes(cfg: ModelConfig, arch: HfArch, kind: ModelKind): [string, number[]][] {
  const C = cfg.nEmbd;
  const hd = arch.headDim;
  const qd = cfg.nHead * hd;
  const kvd = arch.nKvHead * hd;
  const I = arch.intermediateSize;
  const out: [string, number[]][] = [["model.embed_tokens.weight", [cfg.vocabSize, C]]];
  for (let i = 0; i < cfg.nLayer; i++) {
    const p = `model.layers.${i}`;
    out.push([`${p}.input_layernorm.weight`, [C]]);
    out.push([`${p}.self_attn.q_proj.weight`, [qd, C]]);
    if (arch.qkvBias) out.push([`${p}.self_attn.q_proj.bias`, [qd]]);
    out.push([`${p}.self_attn.k_proj.weight`, [kvd, C]]);
    if (arch.qkvBias) out.push([`${p}.self_attn.k_proj.bias`, [kvd]]);
    out.push([`${p}.self_attn.v_proj.weight`, [kvd, C]]);
    if (arch.qkvBias) out.push([`${p}.self_attn.v_proj.bias`, [kvd]]);
    out.push([`${p}.self_attn.o_proj.weight`, [C, qd]]);
    if (arch.oBias) out.push([`${p}.self_attn.o_proj.bias`, [C]]);
    out.push([`${p}.post_attention_layernorm.weight`, [C]]);
    out.push([`${p}.mlp.gate_proj.weight`, [I, C]]);
    if (arch.mlpBias) out.push([`${p}.mlp.gate_proj.bias`, [I]]);
    out.push([`${p}.mlp.up_proj.weight`, [I, C]]);
    if (arch.mlpBias) out.push([`${p}.mlp.up_proj.bias`, [I]]);
    out.push([`${p}.mlp.down_proj.weight`, [C, I]]);
    if (arch.mlpBias) out.push([`${p}.mlp.down_proj.bias`, [C]]);
  }
  out.push(["model.norm.weight", [C]]);
  if (kind === "reward") out.push(["score.weight", [1, C]]);
  else if (!arch.tied) out.push(["lm_head.weight", [cfg.vocabSize, C]]);
  return out;
}

/** The (V, C) matrix the LM head multiplies by. */
export function llamaHeadName(arch: HfArch): string {
  return arch.tied ? "model.embed_tokens.weight" : "lm_head.weight";
}

/** RoPE inverse frequencies (hd/2), computed in float32 steps as transformers does. */
export function ropeInvFreq(arch: HfArch): Float32Array {
  const hd = arch.headDim;
  const f = Math.fround;
  const inv = new Float32Array(hd / 2);
  for (let i = 0; i < hd / 2; i++) inv[i] = f(1 / f(Math.pow(arch.ropeTheta, f((2 * i) / hd))));
  const s = arch.ropeScaling;
  if (!s) return inv;
  const lowWavelen = s.originalMaxPositions / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositions / s.highFreqFactor;
  for (let i = 0; i < inv.length; i++) {
    const fr = inv[i] as number;
    const wavelen = f((2 * Math.PI) / fr);
    let v = wavelen > lowWavelen ? f(fr / s.factor) : fr;
    if (!(wavelen < highWavelen) && !(wavelen > lowWavelen)) {
      const smooth = f(
        (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor),
      );
      v = f(f((1 - smooth) * f(v / s.factor)) + f(smooth * v));
    }
    inv[i] = v;
  }
  return inv;
}

const invFreqCache = new WeakMap<HfArch, Float32Array>();

/** cos and sin tables (T, hd) for positions past .. past+T-1: emb = cat(freqs, freqs). */
function ropeTables(arch: HfArch, past: number, T: number): { cos: tf.Tensor2D; sin: tf.Tensor2D } {
  let inv = invFreqCache.get(arch);
  if (!inv) invFreqCache.set(arch, (inv = ropeInvFreq(arch)));
  const hd = arch.headDim;
  const half = hd / 2;
  const cos = new Float32Array(T * hd);
  const sin = new Float32Array(T * hd);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const a = Math.fround((past + t) * (inv[i] as number));
      const c = Math.cos(a);
      const s = Math.sin(a);
      cos[t * hd + i] = c;
      cos[t * hd + half + i] = c;
      sin[t * hd + i] = s;
      sin[t * hd + half + i] = s;
    }
  }
  return { cos: tf.tensor2d(cos, [T, hd]), sin: tf.tensor2d(sin, [T, hd]) };
}

/** x (B, h, T, hd): x * cos + rotate_half(x) * sin, rotate_half(x) = cat(-x2, x1). */
function applyRope(x: tf.Tensor4D, cos: tf.Tensor2D, sin: tf.Tensor2D): tf.Tensor4D {
  const hd = x.shape[3];
  const half = hd / 2;
  const x1 = tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, half]);
  const x2 = tf.slice(x, [0, 0, 0, half], [-1, -1, -1, half]);
  const rot = tf.concat([tf.neg(x2), x1], 3);
  return tf.add(tf.mul(x, cos), tf.mul(rot, sin)) as tf.Tensor4D;
}

/** RMSNorm: x / sqrt(mean(x^2) + eps) * w. */
function rmsNorm(x: tf.Tensor, w: tf.Tensor, eps: number): tf.Tensor {
  const ms = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), w);
}

/** x (..., in) @ W^T (W: (out, in)) + b */
function linearT(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  const inDim = x.shape[x.shape.length - 1] as number;
  const outDim = w.shape[0] as number;
  let y: tf.Tensor = tf.matMul(tf.reshape(x, [-1, inDim]), w, false, true);
  if (b) y = tf.add(y, b);
  return tf.reshape(y, [...x.shape.slice(0, -1), outDim]);
}

/** (B, T, h*hd) -> (B, h, T, hd) */
function heads(x: tf.Tensor, h: number, hd: number): tf.Tensor4D {
  const [B, T] = x.shape as [number, number, number];
  return tf.transpose(tf.reshape(x, [B, T, h, hd]), [0, 2, 1, 3]) as tf.Tensor4D;
}

/** Additive causal mask (g * T, past + T): g query heads' rows stacked, each (T, S). */
function causalMask(T: number, past: number, g: number): tf.Tensor2D {
  const S = past + T;
  const m = new Float32Array(g * T * S);
  for (let r = 0; r < g * T; r++) for (let s = past + (r % T) + 1; s < S; s++) m[r * S + s] = -1e9;
  return tf.tensor2d(m, [g * T, S]);
}

/**
 * Final hidden states (B, T, C) of ids (B, T) whose first token sits at position `past`. With
 * `cache`/`newCache` (one {k, v} per layer, (B, nkv, S, hd)) as trainer/model.ts's forwardHidden.
 */
export function llamaForwardHidden(
  model: GPTModel,
  arch: HfArch,
  ids: tf.Tensor2D,
  opts: { past?: number; cache?: KVCache; newCache?: KVCache } = {},
): tf.Tensor3D {
  const cfg = model.config;
  const [B, T] = ids.shape;
  const past = opts.past ?? 0;
  const C = cfg.nEmbd;
  const nh = cfg.nHead;
  const nkv = arch.nKvHead;
  const hd = arch.headDim;
  const eps = cfg.layerNormEps;
  const P = (name: string): tf.Variable => {
    const p = model.params.get(name);
    if (!p) throw new Error(`model ${model.id} has no parameter ${name}`);
    return p;
  };
  const Popt = (name: string): tf.Variable | undefined => model.params.get(name);
  let x: tf.Tensor = tf.reshape(tf.gather(P("model.embed_tokens.weight"), tf.reshape(ids, [-1])), [B, T, C]);
  const { cos, sin } = ropeTables(arch, past, T);
  const grp = nh / nkv;
  const mask = T > 1 ? causalMask(T, past, grp) : null;
  const scale = 1 / Math.sqrt(hd);
  for (let i = 0; i < cfg.nLayer; i++) {
    const p = `model.layers.${i}`;
    const a = rmsNorm(x, P(`${p}.input_layernorm.weight`), eps);
    const q = applyRope(
      heads(linearT(a, P(`${p}.self_attn.q_proj.weight`), Popt(`${p}.self_attn.q_proj.bias`)), nh, hd),
      cos,
      sin,
    ); // (B,nh,T,hd)
    let k = applyRope(
      heads(linearT(a, P(`${p}.self_attn.k_proj.weight`), Popt(`${p}.self_attn.k_proj.bias`)), nkv, hd),
      cos,
      sin,
    ); // (B,nkv,T,hd)
    let v = heads(linearT(a, P(`${p}.self_attn.v_proj.weight`), Popt(`${p}.self_attn.v_proj.bias`)), nkv, hd);
    const prev = opts.cache?.[i];
    if (prev) {
      k = tf.concat([prev.k, k], 2) as tf.Tensor4D; // (B,nkv,S,hd)
      v = tf.concat([prev.v, v], 2) as tf.Tensor4D;
    }
    if (opts.newCache) opts.newCache[i] = { k: tf.keep(k), v: tf.keep(v) };
    const qg = tf.reshape(q, [B, nkv, grp * T, hd]); // heads of one kv group stacked along time
    let att = tf.mul(tf.matMul(qg, k, false, true), scale); // (B,nkv,g*T,S)
    if (mask) att = tf.add(att, mask);
    att = tf.softmax(att, -1);
    const o = tf.reshape(tf.matMul(att, v), [B, nh, T, hd]); // (B,nkv,g*T,hd) -> (B,nh,T,hd)
    const y = tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [B, T, nh * hd]);
    x = tf.add(x, linearT(y, P(`${p}.self_attn.o_proj.weight`), Popt(`${p}.self_attn.o_proj.bias`)));
    const m = rmsNorm(x, P(`${p}.post_attention_layernorm.weight`), eps);
    const g = linearT(m, P(`${p}.mlp.gate_proj.weight`), Popt(`${p}.mlp.gate_proj.bias`)); // (B,T,I)
    const u = linearT(m, P(`${p}.mlp.up_proj.weight`), Popt(`${p}.mlp.up_proj.bias`));
    const act = tf.mul(tf.mul(g, tf.sigmoid(g)), u); // silu(gate) * up
    x = tf.add(x, linearT(act, P(`${p}.mlp.down_proj.weight`), Popt(`${p}.mlp.down_proj.bias`)));
  }
  return rmsNorm(x, P("model.norm.weight"), eps) as tf.Tensor3D;
}
