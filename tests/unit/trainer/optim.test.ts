// AdamW's update against values worked out by hand (decoupled decay on matrices only, as in
// nanoGPT and PyTorch's AdamW): three steps on a 1x2 matrix and a 2-vector.
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { AdamW } from "@/trainer/optim";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

// lr 0.01, beta1 0.9, beta2 0.999, eps 1e-8, weight decay 0.1. Step 1 by hand for p = 1, g = 0.5:
// m = 0.05, v = 0.00025, m̂ = 0.5, v̂ = 0.25, so the Adam step is 0.5 / 0.5 = 1; a matrix entry
// also decays: 1 − 0.01·(1 + 0.1·1) = 0.989; a vector entry does not: 1 − 0.01·1 = 0.99.
// Step 2 (g = −0.25): m = 0.02, v = 0.00031225, m̂ = 0.02/0.19, v̂ = 0.00031225/0.001999,
// step = 0.2663367, so the matrix entry is 0.989 − 0.01·(0.2663367 + 0.0989) = 0.98534763.
const EXPECTED = {
  // matrix w = [[1, −2]] with gradients [[0.5, −1]], [[−0.25, 0.3]], [[0.1, 0.3]]
  w: [
    [0.989, -1.988],
    [0.98534763, -1.98173351],
    [0.98120985, -1.97833915],
  ],
  // vector b = [1, 0.5] with gradients [0.5, 2], [−0.25, 2], [0.1, −1]: no decay
  b: [
    [0.99, 0.49],
    [0.98733663, 0.48],
    [0.98418419, 0.47484347],
  ],
};

describe("AdamW", () => {
  it("matches hand-computed updates, with weight decay on matrices only", async () => {
    const w = tf.variable(tf.tensor2d([[1, -2]]));
    const b = tf.variable(tf.tensor1d([1, 0.5]));
    const frozen = tf.variable(tf.tensor2d([[3, 4]]));
    const opt = new AdamW(
      new Map<string, tf.Variable>([
        ["w", w],
        ["b", b],
        ["frozen", frozen],
      ]),
      { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 },
    );
    const gw = [
      [0.5, -1],
      [-0.25, 0.3],
      [0.1, 0.3],
    ];
    const gb = [
      [0.5, 2],
      [-0.25, 2],
      [0.1, -1],
    ];
    for (let step = 0; step < 3; step++) {
      const grads = new Map<string, tf.Tensor>([
        ["w", tf.tensor2d([gw[step]!])],
        ["b", tf.tensor1d(gb[step]!)],
      ]);
      opt.apply(grads, 0.01);
      tf.dispose([...grads.values()]);
      const wv = Array.from(await w.data());
      const bv = Array.from(await b.data());
      wv.forEach((x, i) => expect(x).toBeCloseTo(EXPECTED.w[step]![i]!, 5));
      bv.forEach((x, i) => expect(x).toBeCloseTo(EXPECTED.b[step]![i]!, 5));
    }
    expect(opt.t).toBe(3);
    // A parameter without a gradient is left alone (no decay either).
    expect(Array.from(await frozen.data())).toEqual([3, 4]);
    opt.dispose();
    tf.dispose([w, b, frozen]);
  });
});
