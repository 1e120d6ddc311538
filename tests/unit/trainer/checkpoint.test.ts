import * as tf from "@tensorflow/tfjs";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BpeTokenizer,
  createPolicy,
  createRewardModel,
  disposeModel,
  forwardLogits,
  loadCheckpoint,
  miniR1,
  saveCheckpoint,
  scoreRewards,
  selectBackend,
} from "../../../trainer/index";

const tmp = mkdtempSync(path.join(tmpdir(), "pairwise-ckpt-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const tok = BpeTokenizer.train(miniR1.corpus(miniR1.makeProblems(1, 50)), 300);
const CFG = { vocabSize: tok.vocabSize, contextLength: 32, nLayer: 2, nHead: 2, nEmbd: 16 };

function hasNumpy(): boolean {
  try {
    execFileSync("python3", ["-c", "import numpy"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  await selectBackend({ force: "cpu", log: () => {} });
});

describe("checkpoints", () => {
  it("round-trips a policy: same logits, tokenizer and HF-style config", async () => {
    const m = createPolicy(CFG, 1);
    const dir = path.join(tmp, "policy");
    await saveCheckpoint(dir, { model: m, tokenizer: tok, meta: { note: "test" } });
    const ck = await loadCheckpoint(dir);
    expect(ck.kind).toBe("policy");
    expect(ck.tokenizer.toJSON()).toEqual(tok.toJSON());
    const x = tf.tensor2d([[1, 2, 3, 4]], [1, 4], "int32");
    expect(Array.from(forwardLogits(ck.model, x).dataSync())).toEqual(
      Array.from(forwardLogits(m, x).dataSync()),
    );
    const cfg = JSON.parse(readFileSync(path.join(dir, "config.json"), "utf8"));
    expect(cfg).toMatchObject({
      model_type: "gpt2",
      n_embd: 16,
      n_layer: 2,
      n_head: 2,
      vocab_size: tok.vocabSize,
      activation_function: "gelu_new",
    });
    expect(cfg.pairwise).toMatchObject({ kind: "policy", note: "test" });
    disposeModel(m);
    disposeModel(ck.model);
  });

  it("writes safetensors that an independent reader (NumPy, per the spec) parses", async () => {
    if (!hasNumpy()) return; // python3 + numpy not present: nothing to compare against
    const m = createPolicy(CFG, 2);
    const dir = path.join(tmp, "np");
    await saveCheckpoint(dir, { model: m, tokenizer: tok });
    const out = JSON.parse(
      execFileSync("python3", [
        path.join(import.meta.dirname, "fixtures", "read_safetensors.py"),
        path.join(dir, "model.safetensors"),
      ]).toString(),
    );
    expect(Object.keys(out.tensors).length).toBe(m.params.size);
    for (const [name, v] of m.params) {
      const [shape, sum] = out.tensors[name];
      expect(shape).toEqual(v.shape);
      expect(Math.abs(sum - (tf.sum(v).dataSync()[0] as number))).toBeLessThan(1e-3);
    }
    disposeModel(m);
  });

  it("round-trips a reward model (config.json says which kind)", async () => {
    const rm = createRewardModel(CFG, 3);
    const dir = path.join(tmp, "rm");
    await saveCheckpoint(dir, { model: rm, tokenizer: tok });
    const ck = await loadCheckpoint(dir);
    expect(ck.kind).toBe("reward");
    const items = [{ prompt: "Ana has 3 pens.", completion: "The answer is 3." }];
    expect(await scoreRewards(ck.model, ck.tokenizer, items)).toEqual(await scoreRewards(rm, tok, items));
    disposeModel(rm);
    disposeModel(ck.model);
  });

  it("names the missing file and what to do", async () => {
    const m = createPolicy(CFG, 4);
    const dir = path.join(tmp, "missing");
    await saveCheckpoint(dir, { model: m, tokenizer: tok });
    unlinkSync(path.join(dir, "tokenizer.json"));
    await expect(loadCheckpoint(dir)).rejects.toThrow(/missing tokenizer\.json.*saveCheckpoint/s);
    await expect(loadCheckpoint(path.join(tmp, "nope"))).rejects.toThrow(/does not exist/);
    disposeModel(m);
  });

  it("names the tensor whose shape is wrong", async () => {
    const m = createPolicy(CFG, 5);
    const dir = path.join(tmp, "shape");
    await saveCheckpoint(dir, { model: m, tokenizer: tok });
    const cfgPath = path.join(dir, "config.json");
    const cfg = JSON.parse(readFileSync(cfgPath, "utf8"));
    cfg.pairwise.config.nEmbd = 32;
    writeFileSync(cfgPath, JSON.stringify(cfg));
    await expect(loadCheckpoint(dir)).rejects.toThrow(
      /tensor "transformer\.wte\.weight" has shape \[\d+,16\] but config\.json expects \[\d+,32\]/,
    );
    cfg.pairwise.config.nEmbd = 16;
    cfg.pairwise.config.nLayer = 3;
    writeFileSync(cfgPath, JSON.stringify(cfg));
    await expect(loadCheckpoint(dir)).rejects.toThrow(/missing tensor "transformer\.h\.2\.ln_1\.weight"/);
    disposeModel(m);
  });

  it("refuses to resume from a checkpoint without optimizer state", async () => {
    const m = createPolicy(CFG, 6);
    const dir = path.join(tmp, "noopt");
    await saveCheckpoint(dir, { model: m, tokenizer: tok });
    await expect(loadCheckpoint(dir, { withOptimizer: true })).rejects.toThrow(
      /optimizer\.safetensors.*resume/s,
    );
    disposeModel(m);
  });
});
