// Hugging Face models against transformers: the fixtures in tests/fixtures/hf/ were made by
// scripts/hf-fixtures.py with transformers 5.17 / tokenizers 0.23 (manifest.json); every expected
// number below is what transformers computed, never what Pairwise computed.
import * as tf from "@tensorflow/tfjs";
import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  disposeModel,
  forwardLogits,
  generate,
  loadCheckpoint,
  rewardScores,
  selectBackend,
} from "../../../trainer/index";
import { parseHfConfig } from "../../../trainer/hf/config";
import { describeModel, loadHfModel } from "../../../trainer/hf/model";
import { HfTokenizer } from "../../../trainer/hf/tokenizer";

const ROOT = path.resolve(import.meta.dirname, "../../fixtures/hf");
type Expected = {
  tokenization: {
    text: string;
    ids: number[];
    ids_no_special: number[];
    decoded: string;
    decoded_skip_special: string;
  }[];
  chat?: {
    messages: { role: "user" | "system" | "assistant"; content: string }[];
    add_generation_prompt: boolean;
    text: string;
    ids: number[];
  }[];
  logits?: { ids: number[]; logits: number[][] }[];
  greedy?: { ids: number[]; new_ids: number[]; min_top2_gap: number }[];
  reward?: {
    texts: string[];
    right: { input_ids: number[][]; attention_mask: number[][]; scores: number[] };
    single_scores: number[];
  };
  special_tokens: { eos_id: number; pad_id: number; bos_id: number | null };
  num_parameters: number;
  hf_class: string;
};
const expected = (name: string): Expected =>
  JSON.parse(readFileSync(path.join(ROOT, `${name}.expected.json`), "utf8")) as Expected;
const json = (f: string) => JSON.parse(readFileSync(path.join(ROOT, f), "utf8")) as Record<string, unknown>;

beforeAll(async () => {
  await selectBackend({ force: "cpu", log: () => {} });
});

describe("config.json", () => {
  it("reads transformers 4 and 5 spellings to the same architecture", () => {
    const v5 = parseHfConfig(json("llama/config.json"));
    const v4 = parseHfConfig(json("llama/config.transformers4.json"));
    const strip = (p: ReturnType<typeof parseHfConfig>) => ({
      ...p.config,
      hf: { ...p.config.hf, source: null },
    });
    expect(strip(v4)).toEqual(strip(v5));
    expect(v5.config.hf.ropeTheta).toBe(500000);
    expect(v5.config.hf.ropeScaling).toEqual({
      factor: 8,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositions: 64,
    });
    expect(v5.config.hf.dtype).toBe("bfloat16");
    expect(v5.config.hf.nKvHead).toBe(2);
    expect(v5.config.hf.tied).toBe(false);
    const q = parseHfConfig(json("qwen2/config.json"));
    expect(q.config.hf).toMatchObject({
      family: "qwen2",
      qkvBias: true,
      tied: true,
      dtype: "float16",
      ropeTheta: 1e6,
    });
    expect(parseHfConfig(json("qwen2-reward/config.json")).kind).toBe("reward");
  });

  it("names an unknown architecture", () => {
    expect(() => parseHfConfig({ model_type: "mamba", architectures: ["MambaForCausalLM"] }, "m")).toThrow(
      /unsupported architecture "MambaForCausalLM".*gpt2, llama and qwen2/,
    );
    expect(() =>
      parseHfConfig({
        ...json("llama/config.json"),
        rope_parameters: { rope_type: "yarn", rope_theta: 1, factor: 2 },
      }),
    ).toThrow(/rope scaling "yarn" is not supported/);
  });
});

describe.each(["gpt2", "llama", "qwen2", "gpt2-reward", "qwen2-reward"])("tokenizer %s", (name) => {
  it("encodes and decodes as transformers", async () => {
    const tok = await HfTokenizer.fromFolder(path.join(ROOT, name));
    const e = expected(name);
    for (const c of e.tokenization) {
      expect(tok.encodeWithSpecial(c.text), c.text).toEqual(c.ids);
      expect(tok.encode(c.text), c.text).toEqual(c.ids_no_special);
      expect(tok.decode(c.ids)).toBe(c.decoded);
      expect(tok.decode(c.ids, { skipSpecial: true })).toBe(c.decoded_skip_special);
    }
    expect(tok.eosId).toBe(e.special_tokens.eos_id);
    expect(tok.padId).toBe(e.special_tokens.pad_id);
  });

  it("renders the chat template as transformers", async () => {
    const tok = await HfTokenizer.fromFolder(path.join(ROOT, name));
    for (const c of expected(name).chat ?? []) {
      expect(tok.renderChat(c.messages, { addGenerationPrompt: c.add_generation_prompt })).toBe(c.text);
      expect(tok.encodeChat(c.messages, { addGenerationPrompt: c.add_generation_prompt }).ids).toEqual(c.ids);
    }
  });
});

describe.each(["gpt2", "llama", "qwen2"])("causal LM %s", (name) => {
  it("gives transformers' logits (1e-4) and greedy tokens", async () => {
    const { model, tokenizer } = await loadHfModel(path.join(ROOT, name));
    const e = expected(name);
    expect(describeModel(model).parameters).toBe(e.num_parameters);
    expect(describeModel(model).architecture).toBe(e.hf_class);
    let worst = 0;
    for (const c of e.logits ?? []) {
      const t = tf.tidy(() => forwardLogits(model, tf.tensor2d([c.ids], [1, c.ids.length], "int32")));
      const got = (await t.array()) as number[][][];
      t.dispose();
      c.logits.forEach((row, i) =>
        row.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - got[0]![i]![j]!)))),
      );
    }
    expect(worst).toBeLessThan(1e-4);
    expect(worst).toBeGreaterThan(0); // computed here, not copied
    for (const g of e.greedy ?? []) {
      const r = await generate(model, tokenizer, "", {
        maxTokens: g.new_ids.length,
        temperature: 0,
        promptIds: g.ids,
      });
      const ends = new Set([tokenizer.eosId, tokenizer.endId]);
      const cut = g.new_ids.findIndex((id) => ends.has(id));
      expect(r.tokens).toEqual(cut < 0 ? g.new_ids : g.new_ids.slice(0, cut));
    }
    disposeModel(model);
  });
});

describe.each(["gpt2-reward", "qwen2-reward"])("reward model %s", (name) => {
  it("scores at the last non-padding token as transformers (1e-4)", async () => {
    const { model, kind } = await loadHfModel(path.join(ROOT, name));
    expect(kind).toBe("reward");
    const r = expected(name).reward!;
    const ids = r.right.input_ids;
    const last = r.right.attention_mask.map((m) => m.lastIndexOf(1));
    const t = tf.tidy(() =>
      rewardScores(
        model,
        tf.tensor2d(ids, [ids.length, ids[0]!.length], "int32"),
        tf.tensor1d(last, "int32"),
      ),
    );
    const got = Array.from(await t.data());
    t.dispose();
    got.forEach((s, i) => expect(Math.abs(s - r.right.scores[i]!)).toBeLessThan(1e-4));
    got.forEach((s, i) => expect(Math.abs(s - r.single_scores[i]!)).toBeLessThan(1e-4));
    disposeModel(model);
  });
});

describe("loadCheckpoint", () => {
  it("loads a Hugging Face folder (sharded, fp16) through the checkpoint API", async () => {
    const ck = await loadCheckpoint(path.join(ROOT, "qwen2"));
    expect(ck.kind).toBe("policy");
    expect(ck.config.hf?.family).toBe("qwen2");
    expect(ck.tokenizer).toBeInstanceOf(HfTokenizer);
    disposeModel(ck.model);
  });
});
