// Saving in the Hugging Face format: Pairwise's own BPE as a standard tokenizer.json (checked with
// @huggingface/tokenizers, an independent implementation of the format), and llama/qwen2 models
// trained here written back as folders that load again with the same logits.
import * as tf from "@tensorflow/tfjs";
import { Tokenizer } from "@huggingface/tokenizers";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BpeTokenizer,
  createRewardModel,
  disposeModel,
  forwardLogits,
  loadCheckpoint,
  miniR1,
  saveCheckpoint,
  selectBackend,
  trainPreference,
} from "../../../trainer/index";
import { loadHfModel } from "../../../trainer/hf/model";
import { HfTokenizer } from "../../../trainer/hf/tokenizer";
import { readHfWeights, writeSafetensors } from "../../../trainer/hf/weights";

const ROOT = path.resolve(import.meta.dirname, "../../fixtures/hf");
const tmp = mkdtempSync(path.join(tmpdir(), "pairwise-hf-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
beforeAll(async () => {
  await selectBackend({ force: "cpu", log: () => {} });
});

function randomText(seed: number, n: number): string {
  const pool = [
    "a",
    "b",
    " ",
    "  ",
    "\n",
    "The",
    " cat",
    "é",
    "中",
    "🤗",
    "12",
    "3.5",
    "'s",
    "don't",
    "\t",
    "<think>",
    "x+y",
    "Ω",
  ];
  let s = "";
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    s += pool[x % pool.length];
  }
  return s;
}

describe("Pairwise's tokenizer as a standard tokenizer.json", () => {
  const tok = BpeTokenizer.train(
    [...miniR1.corpus(miniR1.makeProblems(3, 200)), "The cat's café 中文 🤗"],
    420,
  );

  it("is read by @huggingface/tokenizers to the same ids and text", async () => {
    const dir = path.join(tmp, "bpe");
    const policy = (await import("../../../trainer/index")).createPolicy({
      vocabSize: tok.vocabSize,
      contextLength: 16,
      nLayer: 1,
      nHead: 2,
      nEmbd: 8,
    });
    await saveCheckpoint(dir, { model: policy, tokenizer: tok });
    disposeModel(policy);
    const tj = JSON.parse(readFileSync(path.join(dir, "tokenizer.json"), "utf8"));
    const tc = JSON.parse(readFileSync(path.join(dir, "tokenizer_config.json"), "utf8"));
    expect(tj.model.type).toBe("BPE");
    const hf = new Tokenizer(tj, tc);
    for (let s = 1; s < 60; s++) {
      const text = randomText(s, 40);
      const ids = tok.encode(text);
      expect(hf.encode(text, { add_special_tokens: false }).ids, text).toEqual(ids);
      expect(hf.decode(ids, { skip_special_tokens: false })).toBe(text);
    }
    // the chat template in tokenizer_config.json renders what BpeTokenizer#renderChat writes
    const hft = await HfTokenizer.fromFolder(dir);
    const msgs = [
      { role: "user" as const, content: "2 + 3?" },
      { role: "assistant" as const, content: "<think>2 + 3 = 5.</think>5" },
    ];
    expect(hft.renderChat(msgs, { addGenerationPrompt: false })).toBe(tok.renderChat(msgs));
    // and the checkpoint loads back as a BpeTokenizer with the same merges
    const back = await loadCheckpoint(dir);
    expect(back.tokenizer).not.toBeInstanceOf(HfTokenizer);
    expect(back.tokenizer.toJSON()).toEqual(tok.toJSON());
    disposeModel(back.model);
  });
});

describe("safetensors dtypes", () => {
  it("round-trips bf16 and fp16 with rounding to nearest", async () => {
    const data = Float32Array.from([0, 1, -2.5, 3.14159265, 1e-3, 65504, -1e-6, 0.1]);
    for (const [dtype, tol] of [
      ["bfloat16", 2 ** -8],
      ["float16", 2 ** -11],
    ] as const) {
      const dir = path.join(tmp, dtype);
      (await import("node:fs")).mkdirSync(dir, { recursive: true });
      (await import("node:fs")).writeFileSync(
        path.join(dir, "model.safetensors"),
        writeSafetensors([["w", { shape: [8], data }]], dtype),
      );
      const back = (await readHfWeights(dir)).tensors.get("w")!.data;
      data.forEach((v, i) => expect(Math.abs(back[i]! - v)).toBeLessThanOrEqual(Math.abs(v) * tol + 1e-7));
    }
  });
});

describe.each(["llama", "qwen2"])("a %s model trained and saved by Pairwise", (name) => {
  it("trains (DPO), saves a folder that loads again with the same logits, and a reward head", async () => {
    const { model, tokenizer } = await loadHfModel(path.join(ROOT, name));
    const pairs = [
      { prompt: [{ role: "user" as const, content: "Name a colour." }], chosen: "Blue.", rejected: "No." },
      { prompt: "The reward model", chosen: " prefers this", rejected: " hates that" },
    ];
    const before = (await forwardLogits(model, tf.tensor2d([[1, 2, 3]], [1, 3], "int32")).data())[5];
    const res = await trainPreference({
      method: "dpo",
      model,
      tokenizer,
      data: pairs,
      beta: 0.1,
      config: { steps: 2, batchSize: 2, lr: 1e-2, warmupSteps: 0, evalFraction: 0, maxLength: 64 },
    });
    expect(res.steps).toBe(2);
    const after = (await forwardLogits(model, tf.tensor2d([[1, 2, 3]], [1, 3], "int32")).data())[5];
    expect(after).not.toBe(before);
    const dir = path.join(tmp, `${name}-out`);
    await saveCheckpoint(dir, { model, tokenizer });
    const cfg = JSON.parse(readFileSync(path.join(dir, "config.json"), "utf8"));
    expect(cfg.model_type).toBe(name);
    expect(cfg.architectures).toEqual([name === "llama" ? "LlamaForCausalLM" : "Qwen2ForCausalLM"]);
    const tc = JSON.parse(readFileSync(path.join(dir, "tokenizer_config.json"), "utf8"));
    expect(tc.chat_template).toBe((tokenizer as HfTokenizer).chatTemplate);
    // read back through the plain HF path, ignoring our "pairwise" section
    cpSync(dir, `${dir}-plain`, { recursive: true });
    const plain = { ...cfg };
    delete plain.pairwise;
    (await import("node:fs")).writeFileSync(path.join(`${dir}-plain`, "config.json"), JSON.stringify(plain));
    for (const d of [dir, `${dir}-plain`]) {
      const back = await loadCheckpoint(d);
      const ids = tf.tensor2d([[1, 2, 3, 4, 5]], [1, 5], "int32");
      const a = await forwardLogits(model, ids).data();
      const b = await forwardLogits(back.model, ids).data();
      let worst = 0;
      a.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - b[i]!))));
      expect(worst).toBe(0);
      disposeModel(back.model);
    }
    const rm = createRewardModel(model, 1);
    const rdir = path.join(tmp, `${name}-rm`);
    await saveCheckpoint(rdir, { model: rm, tokenizer });
    const rcfg = JSON.parse(readFileSync(path.join(rdir, "config.json"), "utf8"));
    expect(rcfg.architectures).toEqual([
      name === "llama" ? "LlamaForSequenceClassification" : "Qwen2ForSequenceClassification",
    ]);
    expect(rcfg.num_labels).toBe(1);
    const back = await loadCheckpoint(rdir);
    expect(back.kind).toBe("reward");
    expect([...back.model.params.keys()]).toContain("score.weight");
    disposeModel(back.model);
    disposeModel(rm);
    disposeModel(model);
  });
});
