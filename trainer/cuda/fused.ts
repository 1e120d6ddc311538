// Fused ops of the `cuda` backend, each one CUDA kernel forward and one backward (tf.customGrad),
// used by trainer/model.ts and trainer/optim.ts through `fusedOps()` (trainer/backend.ts) when the
// cuda backend is active; every other backend keeps the composite tfjs ops. Each has the same
// definition as the composite it replaces (tests/gpu/cuda.gpu.ts compares them).
import * as tf from "@tensorflow/tfjs";
import type { FusedOps } from "../backend";
import type { CudaBackend } from "./backend";

type TensorInfo = tf.TensorInfo;

function be(): CudaBackend {
  return tf.backend() as unknown as CudaBackend;
}
const wrap = <T extends tf.Tensor = tf.Tensor>(info: TensorInfo): T =>
  tf.engine().makeTensorFromTensorInfo(info) as T;
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
type CG = Parameters<typeof tf.customGrad>[0];

const layerNormByEps = new Map<number, (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor>();
function layerNorm(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, eps: number): tf.Tensor {
  let f = layerNormByEps.get(eps);
  if (!f) {
    f = tf.customGrad(((x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
      const k = be();
      const C = x.shape[x.shape.length - 1] as number;
      const rows = size(x.shape) / C;
      const y = k.out(x.shape);
      const mean = k.out([rows]);
      const rstd = k.out([rows]);
      k.addon.layerNorm(k.ptr(x), k.ptr(g), k.ptr(b), k.ptr(y), k.ptr(mean), k.ptr(rstd), rows, C, eps);
      k.count("LayerNorm");
      save([x, g, wrap(mean), wrap(rstd)]);
      return {
        value: wrap(y),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [sx, sg, sm, sr] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
          const k2 = be();
          const dx = k2.out(sx.shape);
          const dg = k2.out([C]);
          const db = k2.out([C]);
          k2.addon.layerNormBwd(
            k2.ptr(dy),
            k2.ptr(sx),
            k2.ptr(sg),
            k2.ptr(sm),
            k2.ptr(sr),
            k2.ptr(dx),
            k2.ptr(dg),
            k2.ptr(db),
            rows,
            C,
          );
          k2.count("LayerNormGrad");
          return [wrap(dx), wrap(dg), wrap(db)];
        },
      };
    }) as unknown as CG) as unknown as (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor;
    layerNormByEps.set(eps, f);
  }
  return f(x, g, b);
}

const gelu = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  const k = be();
  const y = k.out(x.shape);
  k.addon.unary(34, k.ptr(x), k.ptr(y), size(x.shape), 0, 0);
  k.count("Gelu");
  save([x]);
  return {
    value: wrap(y),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const sx = saved[0] as tf.Tensor;
      const k2 = be();
      const dx = k2.out(sx.shape);
      k2.addon.geluBwd(k2.ptr(dy), k2.ptr(sx), k2.ptr(dx), size(sx.shape));
      k2.count("GeluGrad");
      return wrap(dx);
    },
  };
}) as unknown as CG) as unknown as (x: tf.Tensor) => tf.Tensor;

const causalSoftmaxByScale = new Map<number, (s: tf.Tensor) => tf.Tensor>();
/** softmax(scale * s + causal mask) over the last axis of s (..., T, S): query t sees keys 0..S-T+t. */
function causalSoftmax(scores: tf.Tensor, scale: number): tf.Tensor {
  let f = causalSoftmaxByScale.get(scale);
  if (!f) {
    f = tf.customGrad(((s: tf.Tensor, save: tf.GradSaveFunc) => {
      const k = be();
      const S = s.shape[s.shape.length - 1] as number;
      const T = s.shape[s.shape.length - 2] as number;
      const rows = size(s.shape) / S;
      const y = k.out(s.shape);
      k.addon.causalSoftmax(k.ptr(s), k.ptr(y), rows, T, S, scale);
      k.count("CausalSoftmax");
      const yt = wrap(y);
      save([yt]);
      return {
        value: yt,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const sy = saved[0] as tf.Tensor;
          const k2 = be();
          const dx = k2.out(sy.shape);
          k2.addon.softmaxBwd(k2.ptr(dy), k2.ptr(sy), k2.ptr(dx), rows, S, scale);
          k2.count("CausalSoftmaxGrad");
          return wrap(dx);
        },
      };
    }) as unknown as CG) as unknown as (s: tf.Tensor) => tf.Tensor;
    causalSoftmaxByScale.set(scale, f);
  }
  return f(scores);
}

const tokenLogProbsOp = tf.customGrad(((logits: tf.Tensor, targets: tf.Tensor, save: tf.GradSaveFunc) => {
  const k = be();
  const V = logits.shape[logits.shape.length - 1] as number;
  const rows = size(logits.shape) / V;
  const logp = k.out(logits.shape.slice(0, -1));
  const lse = k.out([rows]);
  k.addon.tokenLogp(k.ptr(logits), k.ptr(targets), k.ptr(logp), k.ptr(lse), rows, V);
  k.count("TokenLogProbs");
  save([logits, targets, wrap(lse)]);
  return {
    value: wrap(logp),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sl, st, sLse] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
      const k2 = be();
      const dl = k2.out(sl.shape);
      k2.addon.tokenLogpBwd(k2.ptr(sl), k2.ptr(st), k2.ptr(sLse), k2.ptr(dy), k2.ptr(dl), rows, V);
      k2.count("TokenLogProbsGrad");
      return [wrap(dl), tf.zerosLike(st)];
    },
  };
}) as unknown as CG) as unknown as (logits: tf.Tensor, targets: tf.Tensor) => tf.Tensor;

/** Gives `v` a buffer of its own before an in-place update (a clone may share its data). */
function ownData(v: tf.Variable): void {
  const k = be();
  const e = k.entry(v);
  if (e.refCount <= 1) return;
  const copy = k.out(v.shape, v.dtype);
  k.addon.copy(k.ptr(copy), k.ptr(v), v.size);
  const t = wrap(copy);
  v.assign(t);
  t.dispose();
}

function adamw(
  params: Map<string, tf.Variable>,
  grads: Map<string, tf.Tensor>,
  m: Map<string, tf.Variable>,
  v: Map<string, tf.Variable>,
  h: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; bc1: number; bc2: number },
): boolean {
  const k = be();
  const rows: number[] = [];
  const touched: tf.Variable[] = [];
  for (const [name, p] of params) {
    const g = grads.get(name);
    if (!g) continue;
    const mv = m.get(name) as tf.Variable;
    const vv = v.get(name) as tf.Variable;
    if (p.dtype !== "float32") return false;
    for (const x of [p, mv, vv]) ownData(x);
    rows.push(
      k.ptr(p),
      k.ptr(g),
      k.ptr(mv),
      k.ptr(vv),
      p.size * 2 + (h.weightDecay > 0 && p.rank >= 2 ? 1 : 0),
    );
    touched.push(p, mv, vv);
  }
  k.addon.adamw(Float64Array.from(rows), h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, h.bc1, h.bc2, 0);
  k.count("AdamW");
  for (const x of touched) k.entry(x).host = null; // updated in place on the device
  return true;
}

function clipByGlobalNorm(
  grads: Map<string, tf.Tensor>,
  maxNorm: number,
  scaleBy: number,
): { grads: Map<string, tf.Tensor>; norm: tf.Scalar } {
  const k = be();
  const names = [...grads.keys()];
  const outs = names.map((n) => k.out((grads.get(n) as tf.Tensor).shape));
  const table = new Float64Array(3 * names.length);
  names.forEach((n, i) => {
    const g = grads.get(n) as tf.Tensor;
    table[3 * i] = k.ptr(g);
    table[3 * i + 1] = k.ptr(outs[i] as TensorInfo);
    table[3 * i + 2] = g.size;
  });
  const norm = k.out([]);
  const factor = k.out([]);
  k.addon.clipGrads(table, k.ptr(norm), k.ptr(factor), maxNorm, scaleBy);
  k.count("ClipByGlobalNorm");
  k.disposeData(factor.dataId);
  return {
    norm: wrap<tf.Scalar>(norm),
    grads: new Map(names.map((n, i) => [n, wrap(outs[i] as TensorInfo)])),
  };
}

export function createFusedOps(): FusedOps {
  return { layerNorm, gelu, causalSoftmax, tokenLogProbs: tokenLogProbsOp, adamw, clipByGlobalNorm };
}
