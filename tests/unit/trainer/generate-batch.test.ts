// generateBatch: the batched loop (rows advancing together over a tfjs KV cache, each stopping on
// its own) gives what `generate` gives prompt by prompt; on the cuda backend the same loop runs the
// native engine (tests/gpu/decode.gpu.ts).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BpeTokenizer,
  Rng,
  createPolicy,
  disposeModel,
  generate,
  generateBatch,
  sampleSoftmax,
  selectBackend,
} from "../../../trainer/index";

const tok = BpeTokenizer.bytesOnly();
let model: ReturnType<typeof createPolicy>;

beforeAll(async () => {
  await selectBackend({ force: "cpu", log: () => {} });
  model = createPolicy(
    { vocabSize: tok.vocabSize, contextLength: 40, nLayer: 2, nHead: 2, nEmbd: 16, initStd: 0.3 },
    5,
  );
});
afterAll(() => disposeModel(model));

describe("generateBatch", () => {
  const prompts = ["Hi", "The quick brown fox", [{ role: "user" as const, content: "2+2?" }], "x".repeat(60)];

  it("greedy: the batched KV-cache loop equals generate per prompt (lengths, context end, text)", async () => {
    const seq = [];
    for (const p of prompts) seq.push(await generate(model, tok, p, { maxTokens: 10, temperature: 0 }));
    const bat = await generateBatch(model, tok, prompts, {
      maxTokens: 10,
      temperature: 0,
      engine: "batched",
    });
    expect(bat).toEqual(seq);
    // the long prompt is cut to the context's last 39 tokens and stops at the context's end (2 tokens)
    expect(bat[3]?.finishReason).toBe("length");
    expect(bat[3]?.tokens.length).toBe(2);
    // "auto" off the GPU is generate per prompt
    expect(await generateBatch(model, tok, prompts, { maxTokens: 10, temperature: 0 })).toEqual(seq);
  });

  it("sampling: each row draws with its own seed, as generate with that seed does", async () => {
    const o = { maxTokens: 8, temperature: 1.2, topK: 20 };
    const seeds = [7, 8, 9, 10];
    const seq = [];
    for (const [i, p] of prompts.entries()) seq.push(await generate(model, tok, p, { ...o, seed: seeds[i] }));
    const bat = await generateBatch(model, tok, prompts, { ...o, seeds, engine: "batched", batchSize: 3 });
    expect(bat).toEqual(seq);
  });

  it("stop strings and maxTokens end rows independently", async () => {
    const seq = [];
    const o = { maxTokens: 12, temperature: 1, stop: ["e", "a"] };
    for (const p of prompts) seq.push(await generate(model, tok, p, { ...o, seed: 3 }));
    const bat = await generateBatch(model, tok, prompts, { ...o, seed: 3, engine: "batched" });
    expect(bat).toEqual(seq);
    const none = await generateBatch(model, tok, prompts, { maxTokens: 0, engine: "batched" });
    expect(none.map((r) => r.tokens.length)).toEqual([0, 0, 0, 0]);
  });

  it("sampleSoftmax draws from softmax(logits / T) without the pad token", () => {
    const logits = Float32Array.from([0, Math.log(3), 5, 0]);
    const rng = new Rng(1);
    const n = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) (n[sampleSoftmax(logits, 1, [2], rng)] as number)++;
    expect(n[2]).toBe(0);
    expect((n[1] as number) / 4000).toBeGreaterThan(0.55);
    expect((n[1] as number) / 4000).toBeLessThan(0.65);
  });
});
