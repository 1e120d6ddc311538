// Loading a Hugging Face model folder (a path on disk; nothing is downloaded) into a Pairwise
// model: config.json (transformers 4 or 5), model.safetensors or its shards, fp32/fp16/bf16
// weights, the tokenizer and chat template. GPT-2 folders run on trainer/model.ts's GPT (it is HF
// GPT-2); Llama and Qwen2 on trainer/hf/llama.ts. Saving goes through saveCheckpoint, which writes
// the same format back.
import * as tf from "@tensorflow/tfjs";
import { promises as fs } from "node:fs";
import path from "node:path";
import type { CheckpointMeta } from "../checkpoint";
import { type ModelConfig, parseModelConfig } from "../config";
import { type GPTModel, type ModelKind, modelFromTensors, numParams, parameterShapes } from "../model";
import type { BpeTokenizer } from "../tokenizer";
import { hfArchitecture, parseHfConfig } from "./config";
import { loadTokenizerFromFolder } from "./tokenizer";
import { readHfWeights } from "./weights";

export interface ModelInfo {
  /** transformers class, e.g. "Qwen2ForCausalLM". */
  architecture: string;
  family: "gpt2" | "llama" | "qwen2";
  kind: ModelKind;
  parameters: number;
  /** dtype of the weights in the source folder (computation is float32). */
  dtype: string;
  layers: number;
  hidden: number;
  contextLength: number;
  vocabSize: number;
}

export interface LoadedHfModel {
  model: GPTModel;
  tokenizer: BpeTokenizer;
  kind: ModelKind;
  config: ModelConfig;
  meta: CheckpointMeta;
  info: ModelInfo;
}

/** What a model is, for the admin page and logs. */
export function describeModel(model: GPTModel): ModelInfo {
  const c = model.config;
  const family = c.hf?.family ?? "gpt2";
  return {
    architecture: hfArchitecture(family, model.kind),
    family,
    kind: model.kind,
    parameters: numParams(model),
    dtype: c.hf?.dtype ?? "float32",
    layers: c.nLayer,
    hidden: c.nEmbd,
    contextLength: c.contextLength,
    vocabSize: c.vocabSize,
  };
}

/** Reads config.json only: the architecture, kind and size, without loading weights. */
export async function readHfModelConfig(
  dir: string,
): Promise<{ kind: ModelKind; config: ModelConfig; architecture: string }> {
  const file = path.join(dir, "config.json");
  const raw = await fs.readFile(file, "utf8").catch(() => null);
  if (raw === null)
    throw new Error(
      `${dir} is not a model folder: it has no config.json (a Hugging Face model folder holds config.json, model.safetensors and tokenizer.json)`,
    );
  const parsed = parseHfConfig(JSON.parse(raw) as Record<string, unknown>, dir);
  return { kind: parsed.kind, config: parseModelConfig(parsed.config), architecture: parsed.architecture };
}

/** Loads a Hugging Face model folder (causal LM or one-label sequence classifier). */
export async function loadHfModel(dir: string): Promise<LoadedHfModel> {
  const { kind, config, architecture } = await readHfModelConfig(dir);
  const tokenizer = await loadTokenizerFromFolder(dir);
  const { tensors } = await readHfWeights(dir);
  // GPT-2 checkpoints from the Hub name GPT2Model's tensors without the "transformer." prefix
  if (config.hf?.family === "gpt2" && !tensors.has("transformer.wte.weight") && tensors.has("wte.weight"))
    for (const [k, v] of [...tensors]) if (!k.startsWith("score.")) tensors.set(`transformer.${k}`, v);
  const problems: string[] = [];
  const named = new Map<string, tf.Tensor>();
  for (const [name, shape] of parameterShapes(config, kind)) {
    const t = tensors.get(name);
    if (!t) problems.push(`missing tensor "${name}" [${shape}]`);
    else if (t.shape.join(",") !== shape.join(","))
      problems.push(`"${name}" is [${t.shape}], config.json implies [${shape}]`);
    else named.set(name, tf.tensor(t.data, shape, "float32"));
  }
  if (problems.length) {
    tf.dispose([...named.values()]);
    throw new Error(
      `${dir}: the weights do not match config.json (${architecture}): ${problems.slice(0, 5).join("; ")}` +
        (problems.length > 5 ? `; and ${problems.length - 5} more` : ""),
    );
  }
  tensors.clear();
  const model = modelFromTensors(kind, config, named);
  tf.dispose([...named.values()]);
  const meta: CheckpointMeta = {
    format: 1,
    kind,
    config,
    source: "huggingface",
    sourcePath: path.resolve(dir),
  };
  return { model, tokenizer, kind, config, meta, info: describeModel(model) };
}

/** Describes a model folder from its config.json alone (no weights read): for pages and logs. */
export async function describeModelFolder(dir: string): Promise<ModelInfo> {
  const { kind, config, architecture } = await readHfModelConfig(dir);
  const parameters = parameterShapes(config, kind).reduce((n, [, s]) => n + s.reduce((a, b) => a * b, 1), 0);
  return {
    architecture,
    family: config.hf?.family ?? "gpt2",
    kind,
    parameters,
    dtype: config.hf?.dtype ?? "float32",
    layers: config.nLayer,
    hidden: config.nEmbd,
    contextLength: config.contextLength,
    vocabSize: config.vocabSize,
  };
}
