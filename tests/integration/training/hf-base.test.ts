// A DPO round from the command line on a Hugging Face base model (the Qwen2 fixture made by
// transformers, sharded, with a chat_template.jinja; tests/fixtures/hf): `pairwise train <project>
// --base-model DIR --here` checks the folder and saves it as the project's model.basePath; the
// bootstrap loads it with its tokenizer and chat template; every checkpoint of the round is a folder
// of the same architecture (the reward model as Qwen2ForSequenceClassification) with the tensors
// transformers expects, shown on the admin overview and exportable. (That our loader computes
// transformers' logits for such folders is tests/unit/trainer/hf.test.ts; that transformers loads a
// round's output is bench/hf/README.md, on the GPU machine.)
import { describe, expect, it } from "vitest";
import path from "node:path";
import { promises as fs } from "node:fs";
import { PassThrough, Readable } from "node:stream";
import * as tf from "@tensorflow/tfjs";
import {
  disposeModel,
  exportModel,
  forwardLogits,
  HfTokenizer,
  loadCheckpoint,
  readHfWeights,
  type LoadedCheckpoint,
} from "@/trainer";
import { main } from "@/server/cli";
import { listCheckpoints } from "@/server/training/rounds";
import { trainingOverview } from "@/server/training/overview";
import { makeTrainingProject, seedPairs } from "./fixtures";
import { useTrainingEnvironment } from "./environment";

const env = useTrainingEnvironment();
const FIXTURES = path.resolve(import.meta.dirname, "../../fixtures/hf");
const BASE = path.join(FIXTURES, "qwen2");

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (d) => (out += d));
  stderr.on("data", (d) => (err += d));
  const code = await main(argv, { stdout, stderr, stdin: Readable.from([]) });
  return { code, out, err };
}

/** Logits of the last position of a chat prompt rendered with the model's own template. */
async function lastLogits(ck: LoadedCheckpoint): Promise<Float32Array> {
  const ids = ck.tokenizer.encodeChat([{ role: "user", content: "2 + 3?" }], {
    addGenerationPrompt: true,
  }).ids;
  const t = tf.tidy(() => forwardLogits(ck.model, tf.tensor2d([ids], [1, ids.length], "int32")));
  const all = (await t.data()) as Float32Array;
  t.dispose();
  return all.slice(all.length - ck.model.config.vocabSize);
}

describe("a DPO round from the CLI on a Hugging Face base model", () => {
  it(
    "`pairwise train --base-model DIR --here` trains the Qwen2 folder and writes Qwen2 folders",
    { timeout: 600_000 },
    async () => {
      const project = await makeTrainingProject();
      await seedPairs(project.id, 24);

      // a wrong folder is refused before anything runs, with what to give instead
      const reward = await cli([
        "train",
        project.slug,
        "--here",
        "--base-model",
        path.join(FIXTURES, "qwen2-reward"),
      ]);
      expect(reward.code).toBe(2);
      expect(reward.err).toMatch(
        /holds a reward model \(Qwen2ForSequenceClassification\); give a language model folder/,
      );
      const missing = await cli([
        "train",
        project.slug,
        "--here",
        "--base-model",
        path.join(FIXTURES, "nope"),
      ]);
      expect(missing.code).toBe(2);
      expect(missing.err).toMatch(/nope is not a model folder: it has no config\.json/);
      expect((await trainingOverview(project.id)).model.basePath).toBeNull();

      // a relative path is saved absolute (the trainer may run elsewhere)
      const rel = path.relative(process.cwd(), BASE);
      const run = await cli(["train", project.slug, "--here", "--base-model", rel]);
      expect(run.err).toContain(`base model Qwen2ForCausalLM, 107,072 parameters, float16 (${BASE})`);
      expect(run.out).toMatch(/round 1: succeeded/);
      expect(run.code).toBe(0);

      const cks = await listCheckpoints(project.id);
      expect(cks.map((c) => c.kind).sort()).toEqual(["policy", "reward", "sft"]);
      const config = async (rel: string) =>
        JSON.parse(await fs.readFile(path.join(env.root, rel, "config.json"), "utf8"));
      const baseConfig = JSON.parse(await fs.readFile(path.join(BASE, "config.json"), "utf8"));
      for (const c of cks) {
        const cfg = await config(c.path);
        expect(cfg.architectures).toEqual([
          c.kind === "reward" ? "Qwen2ForSequenceClassification" : "Qwen2ForCausalLM",
        ]);
        for (const k of [
          "hidden_size",
          "num_hidden_layers",
          "num_attention_heads",
          "num_key_value_heads",
          "vocab_size",
        ])
          expect(cfg[k], k).toBe(baseConfig[k]);
      }

      // the policy: the tensors transformers' Qwen2ForCausalLM has, the tokenizer and chat template kept
      const pol = path.join(env.root, cks.find((c) => c.kind === "policy")!.path);
      expect((await fs.readdir(pol)).sort()).toEqual(
        expect.arrayContaining([
          "config.json",
          "generation_config.json",
          "model.safetensors",
          "tokenizer.json",
          "tokenizer_config.json",
        ]),
      );
      const [baseW, polW] = [await readHfWeights(BASE), await readHfWeights(pol)];
      const shapes = (w: typeof baseW) => Object.fromEntries([...w.tensors].map(([k, v]) => [k, v.shape]));
      expect(shapes(polW)).toEqual(shapes(baseW));
      expect(JSON.parse(await fs.readFile(path.join(pol, "tokenizer.json"), "utf8"))).toEqual(
        JSON.parse(await fs.readFile(path.join(BASE, "tokenizer.json"), "utf8")),
      );
      const ck = await loadCheckpoint(pol);
      expect(ck.tokenizer).toBeInstanceOf(HfTokenizer);
      expect((ck.tokenizer as HfTokenizer).chatTemplate).toBe(
        await fs.readFile(path.join(BASE, "chat_template.jinja"), "utf8"),
      );

      // it trained (its logits moved from the base's), and an fp32 export reads back to the same logits
      const base = await loadCheckpoint(BASE);
      const [before, after] = [await lastLogits(base), await lastLogits(ck)];
      const moved = Math.max(...after.map((v, i) => Math.abs(v - before[i]!)));
      expect(moved).toBeGreaterThan(1e-4);
      const out = path.join(env.root, "exported");
      const r = await exportModel(pol, out, { dtype: "float32" });
      expect(r.files).toEqual([
        "config.json",
        "generation_config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
      ]);
      const exported = await loadCheckpoint(out);
      const again = await lastLogits(exported);
      expect(Math.max(...again.map((v, i) => Math.abs(v - after[i]!)))).toBeLessThan(1e-6);
      for (const m of [ck, base, exported]) disposeModel(m.model);

      const o = await trainingOverview(project.id);
      expect(o.model).toMatchObject({
        basePath: BASE,
        info: { architecture: "Qwen2ForCausalLM", parameters: 107072, dtype: "float16" },
      });
    },
  );
});
