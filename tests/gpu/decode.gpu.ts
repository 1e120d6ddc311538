// Generation on the `cuda` backend (trainer/cuda/decode.ts + pairwise_decode.cuh) against the CPU
// path. Runs on the GPU machine (bundled as decode-tests.cjs by bench/gpu/bundle.sh) and in CI over
// the emulated addon (tests/unit/trainer/cuda-decode.test.ts), where the model is smaller.
//   - The engine's logits with its KV cache (a prefill step, then one token per step) equal the
//     logits of a full forward pass without a cache over the same tokens: fp32, relative L2 < 1e-5
//     (same arithmetic, another summation order), and its argmax is the first maximum.
//   - Greedy generateBatch on cuda gives the same tokens as `generate` on the CPU, prompt by prompt.
//   - Sampled rows stop on their own (EOS / maxTokens) and a seed reproduces a row.
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BpeTokenizer,
  Rng,
  createPolicy,
  disposeModel,
  forwardLogits,
  generate,
  generateBatch,
  selectBackend,
  type GPTModel,
} from "../../trainer/index";
import { setCudaPrecision } from "../../trainer/backend";
import { activeCudaBackend } from "../../trainer/cuda/backend";
import { CudaDecoder, cudaDecodeAvailable } from "../../trainer/cuda/decode";

const emulated = () => Boolean(activeCudaBackend()?.deviceName.includes("emulated"));
const tok = BpeTokenizer.bytesOnly();
let model: GPTModel;

function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num += ((got[i] as number) - (want[i] as number)) ** 2;
    den += (want[i] as number) ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

beforeAll(async () => {
  await selectBackend({ force: "cuda", log: console.log });
  setCudaPrecision("fp32");
  const small = emulated();
  model = createPolicy(
    {
      vocabSize: tok.vocabSize,
      contextLength: small ? 48 : 256,
      nLayer: small ? 2 : 4,
      nHead: small ? 2 : 4,
      nEmbd: small ? 16 : 128,
      initStd: 0.3,
    },
    3,
  );
});
afterAll(async () => {
  disposeModel(model);
  await selectBackend({ force: "cuda", log: () => {} });
});

describe("generation on the cuda backend", () => {
  it("the engine is used for a GPT-2 policy", () => {
    expect(cudaDecodeAvailable(model)).toBe(true);
  });

  it("logits with the KV cache equal a full forward pass without a cache", async () => {
    const B = 3;
    const L = emulated() ? 9 : 40;
    const rng = new Rng(11);
    const ids = Array.from({ length: B }, () => Array.from({ length: L }, () => rng.int(tok.vocabSize)));
    const dec = new CudaDecoder(model, B, L, tok.padId);
    try {
      let pos0 = 0;
      let T = 4; // a prefill of 4 tokens, then one token per step
      let worst = 0;
      while (pos0 + T <= L) {
        const feed = Int32Array.from(ids.flatMap((r) => r.slice(pos0, pos0 + T)));
        const { argmax, logits } = dec.step(feed, T, pos0, true);
        const q = pos0 + T; // tokens seen
        const x = tf.tensor2d(
          ids.flatMap((r) => r.slice(0, q)),
          [B, q],
          "int32",
        );
        const full = tf.tidy(() =>
          tf.reshape(tf.slice(forwardLogits(model, x), [0, q - 1, 0], [B, 1, tok.vocabSize]), [
            B,
            tok.vocabSize,
          ]),
        );
        const want = (await full.data()) as Float32Array;
        tf.dispose([x, full]);
        const err = relErr(logits as Float32Array, want);
        worst = Math.max(worst, err);
        expect(err).toBeLessThan(1e-5);
        for (let b = 0; b < B; b++) {
          const row = (logits as Float32Array).subarray(b * tok.vocabSize, (b + 1) * tok.vocabSize);
          let best = -1;
          for (let v = 0; v < row.length; v++)
            if (v !== tok.padId && (best < 0 || (row[v] as number) > (row[best] as number))) best = v;
          expect(argmax[b]).toBe(best);
        }
        pos0 += T;
        T = 1;
      }
      console.log(
        `  decode logits vs full forward: worst relative L2 ${worst.toExponential(2)} over ${L - 3} steps`,
      );
    } finally {
      dec.dispose();
    }
  });

  it("greedy generateBatch on cuda gives the CPU's tokens, prompt by prompt", async () => {
    const prompts = [
      "Hi",
      "The quick brown fox",
      [{ role: "user" as const, content: "2+2?" }],
      "abcdefghijklmnop",
    ];
    const maxTokens = emulated() ? 6 : 40;
    await selectBackend({ force: "cpu", log: () => {} });
    const cpu = [];
    for (const p of prompts) cpu.push(await generate(model, tok, p, { maxTokens, temperature: 0 }));
    await selectBackend({ force: "cuda", log: () => {} });
    const gpu = await generateBatch(model, tok, prompts, { maxTokens, temperature: 0 });
    const single = await generate(model, tok, prompts[1] as string, { maxTokens, temperature: 0 });
    for (let i = 0; i < prompts.length; i++) {
      expect((gpu[i] as { tokens: number[] }).tokens).toEqual(cpu[i]?.tokens);
      expect(gpu[i]?.text).toBe(cpu[i]?.text);
      expect(gpu[i]?.finishReason).toBe(cpu[i]?.finishReason);
      expect(gpu[i]?.completionTokens).toBe(cpu[i]?.completionTokens);
      expect(gpu[i]?.promptTokens).toBe(cpu[i]?.promptTokens);
    }
    expect(single.tokens).toEqual(cpu[1]?.tokens);
  });

  it("sampled rows stop on their own, and a seed reproduces a row", async () => {
    const prompts = Array.from({ length: 5 }, (_, i) => `prompt ${i}`);
    const o = { maxTokens: emulated() ? 5 : 30, temperature: 1, seeds: [1, 2, 3, 4, 5] };
    const a = await generateBatch(model, tok, prompts, o);
    const b = await generateBatch(model, tok, prompts, o);
    expect(b.map((r) => r.tokens)).toEqual(a.map((r) => r.tokens));
    for (const r of a) {
      expect(r.tokens.length).toBeLessThanOrEqual(o.maxTokens);
      if (r.finishReason === "length") expect(r.tokens.length).toBe(o.maxTokens);
    }
    // a row alone with its seed: the same sample (bitwise-equal logits on the emulator; on the GPU a
    // GEMM of another height may round differently, so only the first token is compared there)
    const one = await generate(model, tok, prompts[2] as string, {
      maxTokens: o.maxTokens,
      temperature: 1,
      seed: 3,
    });
    if (emulated()) expect(one.tokens).toEqual(a[2]?.tokens);
    else expect(one.tokens[0]).toBe(a[2]?.tokens[0]);
    // rows with and without an end: ignoreEos always runs to maxTokens
    const c = await generateBatch(model, tok, prompts, { ...o, ignoreEos: true });
    for (const r of c) expect(r.tokens.length).toBe(o.maxTokens);
  });
});
