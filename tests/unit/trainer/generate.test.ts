import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BpeTokenizer,
  Rng,
  completionLogProbs,
  createPolicy,
  disposeModel,
  encodePrompt,
  forwardLogits,
  generate,
  generateStream,
  sampleFromLogits,
  selectBackend,
  sequenceLogProb,
} from "../../../trainer/index";

const tok = BpeTokenizer.bytesOnly();
let model: ReturnType<typeof createPolicy>;

beforeAll(async () => {
  await selectBackend({ force: "cpu", log: () => {} });
  model = createPolicy(
    { vocabSize: tok.vocabSize, contextLength: 64, nLayer: 2, nHead: 2, nEmbd: 16, initStd: 0.3 },
    1,
  );
});
afterAll(() => disposeModel(model));

describe("generation", () => {
  it("KV-cached greedy decoding equals recomputing the whole sequence each step", async () => {
    const prompt = "Hello";
    const r = await generate(model, tok, prompt, { maxTokens: 12, temperature: 0 });
    const ids = encodePrompt(tok, prompt);
    const naive: number[] = [];
    for (let i = 0; i < r.tokens.length; i++) {
      const x = tf.tensor2d([ids], [1, ids.length], "int32");
      const logits = forwardLogits(model, x);
      const last = tf.slice(logits, [0, ids.length - 1, 0], [1, 1, tok.vocabSize]);
      const v = (await last.data()) as Float32Array;
      tf.dispose([x, logits, last]);
      const next = sampleFromLogits(v, { temperature: 0, banned: [tok.padId] }, new Rng(0));
      naive.push(next);
      ids.push(next);
    }
    expect(r.tokens).toEqual(naive);
    expect(r.promptTokens).toBe(encodePrompt(tok, prompt).length);
  });

  it("reproduces a sample from its seed, and streams the same text", async () => {
    const o = { maxTokens: 20, temperature: 1.0, topK: 50, topP: 0.95, seed: 42 };
    const a = await generate(model, tok, [{ role: "user", content: "hi" }], o);
    const b = await generate(model, tok, [{ role: "user", content: "hi" }], o);
    expect(b).toEqual(a);
    const c = await generate(model, tok, [{ role: "user", content: "hi" }], { ...o, seed: 43 });
    expect(c.tokens).not.toEqual(a.tokens);
    let streamed = "";
    const it = generateStream(model, tok, [{ role: "user", content: "hi" }], o);
    let res = await it.next();
    while (!res.done) {
      streamed += res.value.text;
      res = await it.next();
    }
    expect(streamed).toBe(a.text);
    expect(res.value).toEqual(a);
    expect(a.finishReason === "length" ? a.completionTokens : a.completionTokens - 1).toBe(a.tokens.length);
  });

  it("stops before a stop sequence and reports finishReason", async () => {
    // a random model: find a seed whose sample runs to maxTokens (no end token sampled)
    let o = { maxTokens: 30, temperature: 0.8, seed: 0 };
    let full = await generate(model, tok, "abc", o);
    while (full.finishReason !== "length" || full.text.length < 8) {
      o = { ...o, seed: o.seed + 1 };
      full = await generate(model, tok, "abc", o);
    }
    expect(full.completionTokens).toBe(30);
    const stop = full.text.slice(5, 7);
    const pieces: string[] = [];
    const r = await generate(model, tok, "abc", { ...o, stop, onToken: (e) => void pieces.push(e.text) });
    expect(r.finishReason).toBe("stop");
    expect(r.text).toBe(full.text.slice(0, full.text.indexOf(stop)));
    expect(pieces.join("")).toBe(r.text);
  });

  it("samples with top-k / top-p / temperature as specified", () => {
    const logits = Float32Array.from([0, 5, 1, 4.9, -2]);
    const rng = new Rng(1);
    expect(sampleFromLogits(logits, { temperature: 0 }, rng)).toBe(1);
    expect(sampleFromLogits(logits, { topK: 1 }, rng)).toBe(1);
    expect(sampleFromLogits(logits, { topP: 0.01 }, rng)).toBe(1);
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) seen.add(sampleFromLogits(logits, { topK: 2, temperature: 1 }, rng));
    expect([...seen].sort()).toEqual([1, 3]);
    expect(sampleFromLogits(logits, { temperature: 0, banned: [1] }, rng)).toBe(3);
  });

  it("computes completion log-probs consistently", async () => {
    const one = await sequenceLogProb(model, tok, "Q:", "A!");
    expect(one.tokens.length).toBe(3); // "A", "!", <|endoftext|>
    expect(one.logprob).toBeCloseTo(
      one.tokenLogprobs.reduce((a, b) => a + b, 0),
      5,
    );
    const many = await completionLogProbs(model, tok, [
      { prompt: "Q:", completion: "A!" },
      { prompt: "longer prompt", completion: "x" },
    ]);
    expect(many[0]).toBeCloseTo(one.logprob, 4);
    expect(many[0]!).toBeLessThan(0);
  });
});
