// A training round that starts from a Hugging Face model folder (a Qwen2 fixture made by
// transformers; tests/fixtures/hf): the bootstrap loads it with its tokenizer and chat template,
// and every checkpoint of the round is a folder of the same architecture (reward model as
// Qwen2ForSequenceClassification), shown on the admin overview and exportable.
import { describe, expect, it } from "vitest";
import path from "node:path";
import { promises as fs } from "node:fs";
import { exportModel, loadCheckpoint, disposeModel, HfTokenizer } from "@/trainer";
import { executeRound } from "@/server/training/engine";
import { requestRound, listCheckpoints } from "@/server/training/rounds";
import { trainingOverview } from "@/server/training/overview";
import { makeTrainingProject, seedPairs } from "./fixtures";
import { useTrainingEnvironment } from "./environment";

const env = useTrainingEnvironment();
const BASE = path.resolve(import.meta.dirname, "../../fixtures/hf/qwen2");

describe("a round from a Hugging Face base model", () => {
  it("trains the Qwen2 folder and writes Qwen2 checkpoints", { timeout: 600_000 }, async () => {
    const project = await makeTrainingProject({ model: { basePath: BASE } });
    expect((await trainingOverview(project.id)).model).toEqual({ basePath: BASE, info: null });
    await seedPairs(project.id, 24);
    const { round } = await requestRound({ projectId: project.id, trigger: "manual" });
    expect(await executeRound(round.id)).toBe("succeeded");
    const cks = await listCheckpoints(project.id);
    expect(cks.map((c) => c.kind).sort()).toEqual(["policy", "reward", "sft"]);
    const arch = async (rel: string) =>
      JSON.parse(await fs.readFile(path.join(env.root, rel, "config.json"), "utf8")).architectures[0];
    for (const c of cks)
      expect(await arch(c.path)).toBe(
        c.kind === "reward" ? "Qwen2ForSequenceClassification" : "Qwen2ForCausalLM",
      );
    const pol = cks.find((c) => c.kind === "policy")!;
    const ck = await loadCheckpoint(path.join(env.root, pol.path));
    expect(ck.tokenizer).toBeInstanceOf(HfTokenizer);
    expect((ck.tokenizer as HfTokenizer).chatTemplate).toContain("<|im_start|>");
    disposeModel(ck.model);
    const o = await trainingOverview(project.id);
    expect(o.model.info).toMatchObject({
      architecture: "Qwen2ForCausalLM",
      parameters: 107072,
      dtype: "float16",
    });
    const out = path.join(env.root, "exported");
    const r = await exportModel(path.join(env.root, pol.path), out, { dtype: "bfloat16" });
    expect(r.files).toEqual([
      "config.json",
      "generation_config.json",
      "model.safetensors",
      "tokenizer.json",
      "tokenizer_config.json",
    ]);
  });
});
