// Tests of the `cuda` backend against the CPU backend, run on the GPU machine (bundled by
// tests/gpu/bundle.sh; `vitest` is the shim there). Every comparison draws fresh random inputs,
// and each tolerance is a relative L2 error ‖cuda − cpu‖ / ‖cpu‖ per precision:
//   fp32  1e-5: same arithmetic, another summation order (cuBLAS tiles, tree reductions);
//   tf32  3e-3: 10-bit mantissas in the matmuls (one rounding ≈ 2^-11 ≈ 5e-4 per operand, a few
//              matmuls deep);
//   bf16  3e-2: 8-bit mantissas (2^-9 ≈ 2e-3 per operand), through every layer of the model.
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AdamW,
  Rng,
  clipByGlobalNorm,
  createPolicy,
  disposeModel,
  forwardLogits,
  lmLoss,
  preferenceLoss,
  selectBackend,
  sequenceLogpsFromTokens,
  tokenLogProbs,
  type GPTModel,
} from "../../trainer/index";
import { setCudaPrecision } from "../../trainer/backend";
import { activeCudaBackend } from "../../trainer/cuda/backend";

/** On the JavaScript emulation of the addon (CI) the slow cases are cut short. */
const emulated = () => Boolean(activeCudaBackend()?.deviceName.includes("emulated"));
const TOL = { fp32: 1e-5, tf32: 3e-3, bf16: 3e-2 } as const;
const rng = new Rng(2026);
const rand = (n: number, scale = 1) => Float32Array.from({ length: n }, () => rng.normal() * scale);

function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const g = got[i] as number;
    const w = want[i] as number;
    if (Number.isNaN(g) !== Number.isNaN(w)) return Infinity;
    if (Number.isNaN(w)) continue;
    num += (g - w) ** 2;
    den += w * w;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

/** Runs f on cpu then on cuda over the same host data; returns both results as flat arrays. */
async function both(f: () => tf.Tensor | tf.Tensor[]): Promise<[Float32Array[], Float32Array[]]> {
  const out: Float32Array[][] = [];
  for (const be of ["cpu", "cuda"]) {
    await selectBackend({ force: be, log: () => {} });
    const r = tf.tidy(f);
    const list = Array.isArray(r) ? r : [r];
    out.push(await Promise.all(list.map(async (t) => Float32Array.from(await t.data()))));
    tf.dispose(list);
  }
  return [out[0] as Float32Array[], out[1] as Float32Array[]];
}

beforeAll(async () => {
  await selectBackend({ force: "cuda", log: console.log });
});
afterAll(async () => {
  await selectBackend({ force: "cuda", log: () => {} });
  setCudaPrecision("fp32");
});

describe("cuda kernels vs cpu", () => {
  const cases: [string, () => tf.Tensor | tf.Tensor[]][] = [];
  const a = rand(6 * 5 * 7);
  const b = rand(6 * 5 * 7);
  const col = rand(7);
  const pos = Float32Array.from(rand(6 * 5 * 7), (x) => Math.abs(x) + 0.1);
  const T = (d: Float32Array, s: number[]) => tf.tensor(d, s);
  for (const op of ["add", "sub", "mul", "div", "maximum", "minimum", "squaredDifference"] as const) {
    cases.push([`${op} same shape`, () => tf[op](T(a, [6, 5, 7]), T(b, [6, 5, 7]))]);
    cases.push([`${op} broadcast row`, () => tf[op](T(a, [6, 5, 7]), T(col, [7]))]);
    cases.push([`${op} broadcast middle`, () => tf[op](T(a, [6, 5, 7]), T(b.slice(0, 6 * 7), [6, 1, 7]))]);
    cases.push([`${op} scalar`, () => tf[op](T(a, [6, 5, 7]), tf.scalar(1.7))]);
  }
  cases.push(["pow", () => tf.pow(T(pos, [6, 5, 7]), T(b, [6, 5, 7]))]);
  for (const op of [
    "neg",
    "square",
    "exp",
    "tanh",
    "softplus",
    "abs",
    "sigmoid",
    "relu",
    "sin",
    "cos",
    "erf",
  ] as const)
    cases.push([op, () => tf[op](T(a, [6, 5, 7]))]);
  for (const op of ["sqrt", "rsqrt", "log", "reciprocal"] as const)
    cases.push([op, () => tf[op](T(pos, [6, 5, 7]))]);
  cases.push([
    "comparisons",
    () => [
      tf.greater(T(a, [210]), T(b, [210])),
      tf.equal(T(a, [210]), T(a, [210])),
      tf.lessEqual(T(a, [210]), 0),
    ],
  ]);
  cases.push([
    "cast",
    () => [tf.cast(tf.greater(T(a, [210]), 0), "float32"), tf.cast(tf.mul(T(a, [210]), 5), "int32")],
  ]);
  cases.push(["where", () => tf.where(tf.greater(T(a, [6, 35]), 0), T(a, [6, 35]), T(b, [6, 35]))]);
  for (const axis of [0, 1, 2, [0, 2], [0, 1], [1, 2], -1, null]) {
    for (const op of ["sum", "max", "min", "mean"] as const)
      cases.push([
        `${op} axis ${JSON.stringify(axis)}`,
        () => [tf[op](T(a, [6, 5, 7]), axis ?? undefined), tf[op](T(a, [6, 5, 7]), axis ?? undefined, true)],
      ]);
  }
  cases.push(["argMax", () => [tf.argMax(T(a, [6, 5, 7]), 2), tf.argMax(T(a, [6, 5, 7]), 0)]]);
  cases.push(["softmax", () => tf.softmax(T(a, [6, 5, 7]))]);
  cases.push(["logSumExp", () => tf.logSumExp(T(a, [6, 5, 7]), -1, true)]);
  cases.push([
    "transpose",
    () => [tf.transpose(T(a, [6, 5, 7]), [2, 0, 1]), tf.transpose(T(a, [2, 3, 5, 7]), [0, 2, 1, 3])],
  ]);
  cases.push([
    "slice",
    () => [
      tf.slice(T(a, [6, 5, 7]), [1, 2, 3], [4, 2, 3]),
      tf.slice(T(a, [6, 5, 7]), [0, 1, 0], [-1, 3, -1]),
    ],
  ]);
  cases.push(["split", () => tf.split(T(a, [6, 5, 7 * 1]).reshape([6, 35]), [10, 20, 5], 1)]);
  cases.push([
    "concat",
    () => [tf.concat([T(a, [6, 5, 7]), T(b, [6, 5, 7])], 1), tf.concat([T(a, [6, 35]), T(b, [6, 35])], 0)],
  ]);
  cases.push([
    "pad",
    () =>
      tf.pad(
        T(a, [6, 5, 7]),
        [
          [1, 0],
          [0, 2],
          [3, 1],
        ],
        0.5,
      ),
  ]);
  cases.push(["broadcastTo", () => tf.broadcastTo(T(col, [1, 7]), [5, 7])]);
  cases.push([
    "gather",
    () => [
      tf.gather(T(a, [30, 7]), tf.tensor1d([3, 0, 29, 3, 7], "int32")),
      tf.gather(T(a, [6, 5, 7]), tf.tensor1d([4, 1], "int32"), 1),
    ],
  ]);
  cases.push([
    "unsortedSegmentSum",
    () =>
      tf.unsortedSegmentSum(
        T(a, [30, 7]),
        tf.tensor1d(
          Array.from({ length: 30 }, (_, i) => (i * 7) % 9),
          "int32",
        ),
        9,
      ),
  ]);
  cases.push(["oneHot", () => tf.oneHot(tf.tensor1d([0, 3, 2, 9, 5], "int32"), 10)]);
  cases.push([
    "fill/zeros/ones",
    () => [tf.fill([70, 70], 2.5), tf.zerosLike(T(a, [6, 35])), tf.onesLike(T(a, [6, 35]))],
  ]);
  cases.push(["addN", () => tf.addN([T(a, [210]), T(b, [210]), T(pos, [210])])]);
  const m1 = rand(3 * 33 * 65);
  const m2 = rand(3 * 65 * 17);
  cases.push([
    "matMul",
    () => tf.matMul(T(m1.slice(0, 33 * 65), [33, 65]), T(m2.slice(0, 65 * 17), [65, 17])),
  ]);
  cases.push([
    "matMul transposes",
    () => [
      tf.matMul(T(m1.slice(0, 33 * 65), [65, 33]), T(m2.slice(0, 65 * 17), [65, 17]), true, false),
      tf.matMul(T(m1.slice(0, 33 * 65), [33, 65]), T(m2.slice(0, 65 * 17), [17, 65]), false, true),
      tf.matMul(T(m1.slice(0, 33 * 65), [65, 33]), T(m2.slice(0, 65 * 17), [17, 65]), true, true),
    ],
  ]);
  cases.push([
    "batched matMul (+ broadcast batch)",
    () => [
      tf.matMul(T(m1, [3, 33, 65]), T(m2, [3, 65, 17])),
      tf.matMul(T(m1, [3, 33, 65]), T(m2.slice(0, 65 * 17), [1, 65, 17])),
    ],
  ]);
  // large enough to run on the device rather than the small-tensor host path
  const big = rand(64 * 96);
  cases.push([
    "large ops",
    () => [
      tf.tanh(T(big, [64, 96])),
      tf.sum(T(big, [64, 96]), 0),
      tf.softmax(T(big, [64, 96])),
      tf.transpose(T(big, [64, 96])),
    ],
  ]);

  for (const [name, f] of cases) {
    it(name, async () => {
      const [cpu, cuda] = await both(f);
      expect(cuda.length).toBe(cpu.length);
      for (let i = 0; i < cpu.length; i++) {
        const e = relErr(cuda[i] as Float32Array, cpu[i] as Float32Array);
        expect(e).toBeLessThan(name.startsWith("matMul") || name.startsWith("batched") ? 1e-5 : 2e-6);
      }
    });
  }

  it("runs the hot kernels on the device (no CPU fallback in a training step)", async () => {
    await selectBackend({ force: "cuda", log: () => {} });
    const be = activeCudaBackend();
    expect(be).not.toBeNull();
    const model = createPolicy({ vocabSize: 512, contextLength: 64, nLayer: 2, nHead: 4, nEmbd: 64 }, 1);
    const opt = new AdamW(model.params, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
    const ids = tf.tensor2d(
      Int32Array.from(rand(8 * 64), (x) => Math.abs(Math.floor(x * 100)) % 512),
      [8, 64],
      "int32",
    );
    const mask = tf.ones([8, 64]) as tf.Tensor2D;
    step(model, opt, () => lmLoss(tokenLogProbs(model, ids, ids), mask)).dispose();
    be!.stats.cpu = {};
    be!.stats.downloads = 0;
    const l = step(model, opt, () => lmLoss(tokenLogProbs(model, ids, ids), mask));
    await l.data();
    console.log(
      `  cpu-fallback kernels in one step: ${JSON.stringify(be!.stats.cpu)}, downloads: ${be!.stats.downloads}`,
    );
    // the CPU kernels that remain run on small host tensors (shapes, scalars); none reads a
    // device tensor back except the loss itself
    expect(be!.stats.downloads).toBeLessThan(2);
    tf.dispose([l, ids, mask]);
    opt.dispose();
    disposeModel(model);
  });
});

function step(model: GPTModel, opt: AdamW, lossFn: () => tf.Scalar): tf.Scalar {
  const vars = [...model.params.values()];
  const names = new Map([...model.params].map(([n, v]) => [v.name, n]));
  const { value, grads } = tf.variableGrads(lossFn, vars);
  const named = new Map(Object.entries(grads).map(([k, g]) => [names.get(k) as string, g]));
  const clipped = clipByGlobalNorm(named, 1.0);
  tf.dispose(Object.values(grads));
  opt.apply(clipped.grads, 1e-3);
  tf.dispose([...clipped.grads.values(), clipped.norm]);
  return value;
}

describe("the GPT on cuda vs cpu", () => {
  const cfg = { vocabSize: 300, contextLength: 64, nLayer: 2, nHead: 4, nEmbd: 64 };
  const B = 4;
  const Tn = 32;
  const ids = Array.from({ length: B * Tn }, () => rng.int(cfg.vocabSize));
  const tgt = Array.from({ length: B * Tn }, () => rng.int(cfg.vocabSize));

  for (const precision of ["fp32", "tf32", "bf16"] as const) {
    it(`logits and loss gradients agree at ${precision} (tolerance ${TOL[precision]})`, async () => {
      await selectBackend({ force: "cuda", log: () => {} });
      if (emulated() && precision !== "fp32") return; // the emulator's rounded matmuls are slow
      const run = async (be: string) => {
        await selectBackend({ force: be, log: () => {} });
        if (be === "cuda") setCudaPrecision(precision);
        const model = createPolicy(cfg, 3);
        const x = tf.tensor2d(ids, [B, Tn], "int32");
        const y = tf.tensor2d(tgt, [B, Tn], "int32");
        const mask = tf.ones([B, Tn]) as tf.Tensor2D;
        const logits = forwardLogits(model, x);
        const vars = [...model.params.values()];
        const { value, grads } = tf.variableGrads(() => lmLoss(tokenLogProbs(model, x, y), mask), vars);
        const out = {
          logits: Float32Array.from(await logits.data()),
          loss: (await value.data())[0] as number,
          grads: await Promise.all(vars.map(async (v) => Float32Array.from(await grads[v.name]!.data()))),
        };
        tf.dispose([x, y, mask, logits, value, ...Object.values(grads)]);
        disposeModel(model);
        if (be === "cuda") setCudaPrecision("fp32");
        return out;
      };
      const cpu = await run("cpu");
      const cuda = await run("cuda");
      const eLogits = relErr(cuda.logits, cpu.logits);
      const eGrads = cpu.grads.map((g, i) => relErr(cuda.grads[i] as Float32Array, g));
      console.log(
        `  ${precision}: logits ${eLogits.toExponential(2)}, loss ${cuda.loss} vs ${cpu.loss}, worst grad ${Math.max(...eGrads).toExponential(2)}`,
      );
      expect(eLogits).toBeLessThan(TOL[precision]);
      expect(Math.abs(cuda.loss - cpu.loss) / Math.abs(cpu.loss)).toBeLessThan(TOL[precision]);
      // gradients: 10x the forward tolerance (backward chains twice the matmuls, and small
      // gradients of layer norms and biases have a larger relative error)
      expect(Math.max(...eGrads)).toBeLessThan(10 * TOL[precision]);
    });
  }

  it("20 SFT + DPO steps follow the cpu losses (fp32)", async () => {
    await selectBackend({ force: "cuda", log: () => {} });
    if (emulated()) return; // minutes on the emulator: GPU machine only
    const run = async (be: string) => {
      await selectBackend({ force: be, log: () => {} });
      const model = createPolicy(cfg, 5);
      const opt = new AdamW(model.params, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
      const x = tf.tensor2d(ids, [B, Tn], "int32");
      const y = tf.tensor2d(tgt, [B, Tn], "int32");
      const mask = tf.ones([B, Tn]) as tf.Tensor2D;
      const losses: number[] = [];
      for (let i = 0; i < 10; i++) {
        const l = step(model, opt, () => lmLoss(tokenLogProbs(model, x, y), mask));
        losses.push((await l.data())[0] as number);
        l.dispose();
      }
      const refLogps = tf.tidy(() => sequenceLogpsFromTokens(tokenLogProbs(model, x, y), mask));
      const lens = tf.fill([B / 2], Tn) as tf.Tensor1D;
      for (let i = 0; i < 10; i++) {
        const l = step(model, opt, () => {
          const s = sequenceLogpsFromTokens(tokenLogProbs(model, x, y), mask);
          return preferenceLoss("dpo", {
            policyChosenLogps: tf.slice(s, [0], [B / 2]) as tf.Tensor1D,
            policyRejectedLogps: tf.slice(s, [B / 2], [B / 2]) as tf.Tensor1D,
            refChosenLogps: tf.slice(refLogps, [0], [B / 2]) as tf.Tensor1D,
            refRejectedLogps: tf.slice(refLogps, [B / 2], [B / 2]) as tf.Tensor1D,
            chosenLengths: lens,
            rejectedLengths: lens,
          }).loss;
        });
        losses.push((await l.data())[0] as number);
        l.dispose();
      }
      tf.dispose([x, y, mask, refLogps, lens]);
      opt.dispose();
      disposeModel(model);
      return losses;
    };
    const cpu = await run("cpu");
    const cuda = await run("cuda");
    console.log(
      `  sft+dpo losses cpu ${cpu.map((v) => v.toFixed(4)).join(" ")}\n  cuda ${cuda.map((v) => v.toFixed(4)).join(" ")}`,
    );
    expect(cpu[9]!).toBeLessThan(cpu[0]!); // it learns at all
    for (let i = 0; i < cpu.length; i++)
      expect(Math.abs(cuda[i]! - cpu[i]!)).toBeLessThan(1e-3 * (1 + Math.abs(cpu[i]!)));
  });

  it("the caching allocator: no cudaMalloc and no growth after the first steps", async () => {
    await selectBackend({ force: "cuda", log: () => {} });
    if (emulated()) return; // GPU machine only
    const be = activeCudaBackend()!;
    const model = createPolicy(cfg, 9);
    const opt = new AdamW(model.params, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
    const x = tf.tensor2d(ids, [B, Tn], "int32");
    const mask = tf.ones([B, Tn]) as tf.Tensor2D;
    const marks: number[][] = [];
    const steps = emulated() ? 12 : 200;
    for (let i = 0; i < steps; i++) {
      const l = step(model, opt, () => lmLoss(tokenLogProbs(model, x, x), mask));
      await l.data();
      l.dispose();
      if (i === 4 || i === steps - 1) marks.push(be.addon.memStats());
    }
    console.log(
      `  memStats [inUse, reserved, peak, mallocs] at step 5: ${marks[0]}, at step ${steps}: ${marks[1]}`,
    );
    expect(marks[1]![3]).toBe(marks[0]![3]); // no new cudaMalloc
    expect(marks[1]![0]).toBe(marks[0]![0]); // bytes in use do not grow
    tf.dispose([x, mask]);
    opt.dispose();
    disposeModel(model);
  });
});
