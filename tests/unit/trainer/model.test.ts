// GPT forward/backward: finite-difference gradient checks (LM loss, DPO loss), backend parity,
// overfitting one batch, reward-model head.
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type GPTModel,
  Rng,
  createPolicy,
  createRewardModel,
  disposeModel,
  forwardLogits,
  lmLoss,
  preferenceLoss,
  rewardScores,
  selectBackend,
  sequenceLogpsFromTokens,
  tokenLogProbs,
} from "../../../trainer/index";

const MICRO = { vocabSize: 32, contextLength: 16, nLayer: 2, nHead: 2, nEmbd: 16 };

function ints(rows: number[][]): tf.Tensor2D {
  return tf.tensor2d(rows, [rows.length, rows[0]!.length], "int32");
}

/**
 * Compares tf.variableGrads with central differences (float32: h = 1e-2, checked along a random
 * direction over all parameters and on the largest single coordinates).
 */
async function gradCheck(model: GPTModel, lossFn: () => tf.Scalar) {
  const vars = [...model.params.values()];
  const { value, grads } = tf.variableGrads(lossFn, vars);
  value.dispose();
  const h = 1e-2;
  const evalLoss = async () => {
    const l = tf.tidy(lossFn);
    const x = (await l.data())[0] as number;
    l.dispose();
    return x;
  };
  // 1) random unit direction over all parameters
  const rng = new Rng(11);
  const dirs = vars.map((v) =>
    tf.tensor(
      Float32Array.from({ length: v.size }, () => rng.normal()),
      v.shape,
    ),
  );
  const norm = Math.sqrt(dirs.reduce((a, d) => a + (tf.sum(tf.square(d)).dataSync()[0] as number), 0));
  const shift = async (sign: number) =>
    vars.forEach((v, i) => v.assign(tf.tidy(() => tf.add(v, tf.mul((sign * h) / norm, dirs[i]!)))));
  await shift(1);
  const lp = await evalLoss();
  await shift(-2);
  const lm = await evalLoss();
  await shift(1);
  const fd = (lp - lm) / (2 * h);
  const analytic = vars.reduce(
    (a, v, i) => a + (tf.sum(tf.mul(grads[v.name]!, dirs[i]!)).dataSync()[0] as number) / norm,
    0,
  );
  expect(Math.abs(fd - analytic)).toBeLessThan(2e-2 * Math.max(1e-2, Math.abs(analytic)) + 2e-4);
  // 2) the largest coordinates of a few tensors
  let checked = 0;
  for (const name of [
    "transformer.wte.weight",
    "transformer.wpe.weight",
    "transformer.h.0.attn.c_attn.weight",
    "transformer.h.1.mlp.c_fc.bias",
    "transformer.h.0.ln_1.weight",
    "transformer.ln_f.bias",
  ]) {
    const v = model.params.get(name)!;
    const g = await grads[v.name]!.data();
    let best = 0;
    for (let i = 1; i < g.length; i++) if (Math.abs(g[i]!) > Math.abs(g[best]!)) best = i;
    const orig = (await v.data())[best]!;
    const setAt = (x: number) => {
      const vals = v.dataSync().slice();
      vals[best] = x;
      v.assign(tf.tensor(vals, v.shape));
    };
    setAt(orig + h);
    const a = await evalLoss();
    setAt(orig - h);
    const b = await evalLoss();
    setAt(orig);
    const num = (a - b) / (2 * h);
    expect(Math.abs(num - g[best]!), `${name}[${best}] numeric ${num} vs analytic ${g[best]}`).toBeLessThan(
      3e-2 * Math.abs(g[best]!) + 3e-4,
    );
    checked++;
  }
  expect(checked).toBe(6);
  tf.dispose([...Object.values(grads), ...dirs]);
}

describe("GPT model", () => {
  beforeAll(async () => {
    await selectBackend({ force: "cpu", log: () => {} });
  });

  const ids = ints([
    [1, 5, 9, 3, 7, 2],
    [4, 4, 8, 1, 0, 6],
  ]);
  const tgt = ints([
    [5, 9, 3, 7, 2, 11],
    [4, 8, 1, 0, 6, 13],
  ]);
  const mask = tf.tensor2d([
    [0, 0, 1, 1, 1, 1],
    [0, 1, 1, 1, 0, 0],
  ]);
  afterAll(() => tf.dispose([ids, tgt, mask]));

  it("has a finite-difference-correct gradient of the LM loss", async () => {
    const m = createPolicy(MICRO, 1);
    await gradCheck(m, () => lmLoss(tokenLogProbs(m, ids, tgt), mask));
    disposeModel(m);
  });

  it("has a finite-difference-correct gradient of the DPO loss", async () => {
    const m = createPolicy(MICRO, 2);
    const refC = tf.tensor1d([-9.5]);
    const refR = tf.tensor1d([-4.0]);
    await gradCheck(m, () => {
      const s = sequenceLogpsFromTokens(tokenLogProbs(m, ids, tgt), mask); // (2): row 0 chosen, row 1 rejected
      return preferenceLoss(
        "dpo",
        {
          policyChosenLogps: tf.slice(s, [0], [1]) as tf.Tensor1D,
          policyRejectedLogps: tf.slice(s, [1], [1]) as tf.Tensor1D,
          refChosenLogps: refC,
          refRejectedLogps: refR,
          chosenLengths: tf.tensor1d([4]),
          rejectedLengths: tf.tensor1d([3]),
        },
        { beta: 1.0 },
      ).loss;
    });
    disposeModel(m);
  });

  it("gives the same logits on every backend present (cpu, wasm, webgpu where an adapter exists)", async () => {
    const results: Float32Array[] = [];
    for (const be of ["cpu", "wasm", "webgpu", "node"]) {
      try {
        await selectBackend({ force: be, log: () => {} });
      } catch {
        expect(["webgpu", "node"]).toContain(be); // optional backends may be absent; cpu and wasm must work
        continue;
      }
      const m = createPolicy({ ...MICRO, nEmbd: 32, nHead: 4 }, 3);
      const x = ints([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]);
      const l = forwardLogits(m, x);
      results.push((await l.data()) as Float32Array);
      tf.dispose([l, x]);
      disposeModel(m);
    }
    await selectBackend({ force: "cpu", log: () => {} });
    expect(results.length).toBeGreaterThanOrEqual(2);
    const a = results[0]!;
    for (const b of results.slice(1)) {
      let maxDiff = 0;
      for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
      expect(maxDiff).toBeLessThan(1e-4);
    }
  });

  it("overfits one small batch (loss toward zero)", async () => {
    const m = createPolicy(MICRO, 4);
    const opt = tf.train.adam(1e-2);
    const vars = [...m.params.values()];
    let last = Infinity;
    for (let i = 0; i < 150; i++) {
      const l = opt.minimize(() => lmLoss(tokenLogProbs(m, ids, tgt), mask), true, vars)!;
      if (i === 149) last = (await l.data())[0]!;
      l.dispose();
    }
    opt.dispose();
    expect(last).toBeLessThan(0.02);
    disposeModel(m);
  });

  it("reads the reward head at the last real token", async () => {
    const policy = createPolicy(MICRO, 5);
    const rm = createRewardModel(policy, 6);
    expect(rm.params.get("transformer.h.0.attn.c_attn.weight")!.dataSync()).toEqual(
      policy.params.get("transformer.h.0.attn.c_attn.weight")!.dataSync(),
    );
    // padding after the last token must not change the score
    const short = rewardScores(rm, ints([[1, 2, 3]]), tf.tensor1d([2], "int32"));
    const padded = rewardScores(rm, ints([[1, 2, 3, 31, 31]]), tf.tensor1d([2], "int32"));
    expect(Math.abs(short.dataSync()[0]! - padded.dataSync()[0]!)).toBeLessThan(1e-5);
    tf.dispose([short, padded]);
    disposeModel(policy);
    disposeModel(rm);
  });
});
