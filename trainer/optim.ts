// AdamW (decoupled weight decay, Loshchilov & Hutter), warmup + cosine schedule, global-norm
// gradient clipping. The optimizer state (m, v, step) is plain named tensors so a checkpoint can
// save it and a resumed run continues bit-for-bit on the same backend.
import * as tf from "@tensorflow/tfjs";
import { fusedOps } from "./backend";

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** AdamW over named variables. Decay applies to matrices only (rank >= 2), as in nanoGPT. */
export class AdamW {
  /** Number of updates applied so far (the bias-correction t). */
  t = 0;
  readonly m = new Map<string, tf.Variable>();
  readonly v = new Map<string, tf.Variable>();

  constructor(
    readonly params: Map<string, tf.Variable>,
    readonly opts: AdamWOptions,
  ) {
    for (const [name, p] of params) {
      // tidy frees the zeros tensors; the variables keep their data (variables are not tracked)
      this.m.set(
        name,
        tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
      );
      this.v.set(
        name,
        tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
      );
    }
  }

  /**
   * One update with learning rate `lr`: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
   * p -= lr * (m̂ / (sqrt(v̂) + eps) + wd * p). `grads` may miss a name (no update for it).
   */
  apply(grads: Map<string, tf.Tensor>, lr: number): void {
    this.t += 1;
    const { beta1, beta2, eps, weightDecay } = this.opts;
    const bc1 = 1 - beta1 ** this.t;
    const bc2 = 1 - beta2 ** this.t;
    // one launch over every parameter where the backend has it (cuda), same arithmetic
    const fused = fusedOps();
    if (fused?.adamw(this.params, grads, this.m, this.v, { lr, beta1, beta2, eps, weightDecay, bc1, bc2 }))
      return;
    tf.tidy(() => {
      for (const [name, p] of this.params) {
        const g = grads.get(name);
        if (!g) continue;
        const m = this.m.get(name) as tf.Variable;
        const v = this.v.get(name) as tf.Variable;
        const m1 = tf.add(tf.mul(beta1, m), tf.mul(1 - beta1, g));
        const v1 = tf.add(tf.mul(beta2, v), tf.mul(1 - beta2, tf.square(g)));
        m.assign(m1);
        v.assign(v1);
        let update = tf.div(tf.div(m1, bc1), tf.add(tf.sqrt(tf.div(v1, bc2)), eps));
        if (weightDecay > 0 && p.rank >= 2) update = tf.add(update, tf.mul(weightDecay, p));
        p.assign(tf.sub(p, tf.mul(lr, update)));
      }
    });
  }

  /** Named state tensors for a checkpoint: exp_avg.<name>, exp_avg_sq.<name>. */
  stateTensors(): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    for (const [name, m] of this.m) out.set(`exp_avg.${name}`, m);
    for (const [name, v] of this.v) out.set(`exp_avg_sq.${name}`, v);
    return out;
  }

  /** Restores state saved by `stateTensors` (+ t). Missing or misshapen entries throw with their name. */
  loadState(tensors: Map<string, tf.Tensor>, t: number): void {
    for (const [prefix, map] of [
      ["exp_avg", this.m],
      ["exp_avg_sq", this.v],
    ] as const) {
      for (const [name, variable] of map) {
        const src = tensors.get(`${prefix}.${name}`);
        if (!src) throw new Error(`optimizer state is missing ${prefix}.${name}`);
        if (src.shape.join(",") !== variable.shape.join(",")) {
          throw new Error(
            `optimizer state ${prefix}.${name} has shape [${src.shape}], expected [${variable.shape}]`,
          );
        }
        variable.assign(src);
      }
    }
    this.t = t;
  }

  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values()]) x.dispose();
    this.m.clear();
    this.v.clear();
  }
}

/** Linear warmup from 0 to lr over warmupSteps, then cosine decay to lr * minLrRatio at totalSteps. */
export function learningRate(
  step: number,
  s: { lr: number; warmupSteps: number; totalSteps: number; minLrRatio: number },
): number {
  if (s.warmupSteps > 0 && step < s.warmupSteps) return (s.lr * (step + 1)) / s.warmupSteps;
  const span = Math.max(1, s.totalSteps - s.warmupSteps);
  const progress = Math.min(1, Math.max(0, (step - s.warmupSteps) / span));
  const minLr = s.lr * s.minLrRatio;
  return minLr + 0.5 * (s.lr - minLr) * (1 + Math.cos(Math.PI * progress));
}

/**
 * Sum of many tensors as a tree of pairwise adds. Not tf.addN: on WebGPU it binds one storage
 * buffer per input, and Dawn allows 8 per shader stage (a 4-layer GPT has 52 grads: the pipeline
 * is invalid and the result silently wrong, seen on the H200).
 */
export function sumAll(xs: tf.Tensor[]): tf.Tensor {
  if (xs.length === 0) return tf.scalar(0);
  let level = xs;
  while (level.length > 1) {
    const next: tf.Tensor[] = [];
    for (let i = 0; i < level.length; i += 2)
      next.push(
        i + 1 < level.length
          ? tf.add(level[i] as tf.Tensor, level[i + 1] as tf.Tensor)
          : (level[i] as tf.Tensor),
      );
    level = next;
  }
  return level[0] as tf.Tensor;
}

/**
 * Multiplies grads by `scaleBy` (e.g. 1/accumulation steps), then scales them so their global L2
 * norm is at most maxNorm (no clipping if maxNorm <= 0). Stays on the device (no sync). Returns new
 * tensors and the pre-clip norm; the caller disposes the inputs and the outputs.
 */
export function clipByGlobalNorm(
  grads: Map<string, tf.Tensor>,
  maxNorm: number,
  scaleBy = 1,
): { grads: Map<string, tf.Tensor>; norm: tf.Scalar } {
  const fused = fusedOps();
  if (fused) return fused.clipByGlobalNorm(grads, maxNorm, scaleBy);
  const names = [...grads.keys()];
  // one tidy: the scalar constants made from JS numbers are freed too
  const out = tf.tidy(() => {
    const gs = names.map((n) =>
      scaleBy === 1 ? (grads.get(n) as tf.Tensor) : tf.mul(grads.get(n) as tf.Tensor, scaleBy),
    );
    const norm = tf.sqrt(sumAll(gs.map((g) => tf.sum(tf.square(g)))));
    const factor = maxNorm > 0 ? tf.minimum(1, tf.div(maxNorm, tf.add(norm, 1e-6))) : tf.scalar(1);
    return [norm, ...gs.map((g) => tf.mul(g, factor))];
  });
  return { norm: out[0] as tf.Scalar, grads: new Map(names.map((n, i) => [n, out[i + 1] as tf.Tensor])) };
}
