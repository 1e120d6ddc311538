// Checkpoints: one folder each.
//   config.json          Hugging Face GPT-2 config keys + a "pairwise" section (kind, model config, meta)
//   model.safetensors    weights under HF GPT-2 names (readable by Python's safetensors / transformers)
//   tokenizer.json       a standard Hugging Face tokenizer.json (+ tokenizer_config.json with the
//                        chat template, generation_config.json), so transformers loads the folder
//   optimizer.safetensors  AdamW m/v (only for training checkpoints)
//   trainer_state.json   step, data position, optimizer t, config, backend, ref cache ... (training only)
// Writes go to a temporary sibling folder that is renamed into place, so a process killed while
// saving leaves the previous checkpoint intact.
import * as tf from "@tensorflow/tfjs";
import { promises as fs } from "node:fs";
import path from "node:path";
import { type ModelConfig, parseModelConfig } from "./config";
import { type GPTModel, type ModelKind, modelFromTensors, parameterShapes } from "./model";
import type { AdamW } from "./optim";
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from "./safetensors";
import { hfConfigJson } from "./hf/config";
import { loadHfModel, readHfModelConfig } from "./hf/model";
import { loadTokenizerFromFolder, saveTokenizerFiles } from "./hf/tokenizer";
import type { BpeTokenizer } from "./tokenizer";

export const CHECKPOINT_FILES = {
  config: "config.json",
  weights: "model.safetensors",
  tokenizer: "tokenizer.json",
  optimizer: "optimizer.safetensors",
  trainerState: "trainer_state.json",
} as const;

/** The "pairwise" section of config.json. */
export interface CheckpointMeta {
  format: 1;
  kind: ModelKind;
  config: ModelConfig;
  /** Free-form provenance: backend, loop, parent checkpoint, dataset, ... */
  [key: string]: unknown;
}

export interface SaveCheckpointOptions {
  model: GPTModel;
  tokenizer: BpeTokenizer;
  optimizer?: AdamW;
  /** JSON written to trainer_state.json (training checkpoints). */
  trainerState?: Record<string, unknown>;
  /** Extra provenance merged into config.json's "pairwise" section. */
  meta?: Record<string, unknown>;
}

async function tensorsToSafe(named: Iterable<[string, tf.Tensor]>): Promise<Map<string, SafeTensor>> {
  const out = new Map<string, SafeTensor>();
  for (const [name, t] of named) {
    const data = await t.data(); // device -> host sync point
    out.set(name, {
      dtype: t.dtype === "int32" ? "I32" : "F32",
      shape: t.shape,
      data: t.dtype === "int32" ? Int32Array.from(data) : Float32Array.from(data),
    });
  }
  return out;
}

/** HF-compatible config.json content for a model. */
export function hfConfig(
  model: GPTModel,
  tokenizer: BpeTokenizer,
  meta: Record<string, unknown> = {},
): Record<string, unknown> {
  const c = model.config;
  const pairwise: CheckpointMeta = { format: 1, kind: model.kind, config: c, ...meta };
  if (c.hf && c.hf.family !== "gpt2") {
    const eos = [...new Set([tokenizer.endId, tokenizer.eosId])];
    return {
      ...hfConfigJson(c.hf, model.kind, {
        dtype: "float32",
        bosId: tokenizer.bosId,
        eosId: eos.length === 1 ? eos[0] : eos,
        padId: tokenizer.padId,
      }),
      pairwise,
    };
  }
  return {
    model_type: "gpt2",
    architectures: [model.kind === "reward" ? "GPT2ForSequenceClassification" : "GPT2LMHeadModel"],
    vocab_size: c.vocabSize,
    n_positions: c.contextLength,
    n_ctx: c.contextLength,
    n_embd: c.nEmbd,
    n_layer: c.nLayer,
    n_head: c.nHead,
    n_inner: null,
    activation_function: "gelu_new",
    layer_norm_epsilon: c.layerNormEps,
    initializer_range: c.initStd,
    resid_pdrop: 0,
    embd_pdrop: 0,
    attn_pdrop: 0,
    tie_word_embeddings: true,
    bos_token_id: tokenizer.bosId,
    eos_token_id: tokenizer.eosId,
    pad_token_id: tokenizer.padId,
    ...(model.kind === "reward" ? { num_labels: 1 } : {}),
    torch_dtype: "float32",
    dtype: "float32",
    pairwise,
  };
}

/** Writes a checkpoint folder (atomically replacing an existing one at `dir`). */
export async function saveCheckpoint(dir: string, o: SaveCheckpointOptions): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  await fs.mkdir(tmp, { recursive: true });
  const weights = await tensorsToSafe(o.model.params);
  await fs.writeFile(path.join(tmp, CHECKPOINT_FILES.weights), encodeSafetensors(weights, { format: "pt" }));
  await fs.writeFile(
    path.join(tmp, CHECKPOINT_FILES.config),
    JSON.stringify(hfConfig(o.model, o.tokenizer, o.meta), null, 2),
  );
  await saveTokenizerFiles(tmp, o.tokenizer);
  const eos = [...new Set([o.tokenizer.eosId, o.tokenizer.endId])];
  await fs.writeFile(
    path.join(tmp, "generation_config.json"),
    JSON.stringify(
      { bos_token_id: o.tokenizer.bosId, eos_token_id: eos, pad_token_id: o.tokenizer.padId },
      null,
      2,
    ),
  );
  if (o.optimizer) {
    const st = await tensorsToSafe(o.optimizer.stateTensors());
    await fs.writeFile(
      path.join(tmp, CHECKPOINT_FILES.optimizer),
      encodeSafetensors(st, { t: String(o.optimizer.t) }),
    );
  }
  if (o.trainerState) {
    await fs.writeFile(path.join(tmp, CHECKPOINT_FILES.trainerState), JSON.stringify(o.trainerState));
  }
  const old = `${dir}.old-${process.pid}-${Date.now()}`;
  const exists = await fs.stat(dir).then(
    () => true,
    () => false,
  );
  if (exists) await fs.rename(dir, old);
  await fs.rename(tmp, dir);
  if (exists) await fs.rm(old, { recursive: true, force: true });
}

export interface LoadedCheckpoint {
  model: GPTModel;
  tokenizer: BpeTokenizer;
  kind: ModelKind;
  config: ModelConfig;
  meta: CheckpointMeta;
  /** Present for training checkpoints. */
  trainerState?: Record<string, unknown>;
  /** Optimizer tensors (exp_avg.*, exp_avg_sq.*) and t, for training checkpoints. Caller disposes. */
  optimizer?: { tensors: Map<string, tf.Tensor>; t: number };
}

async function readRequired(dir: string, file: string, what: string): Promise<Buffer> {
  try {
    return await fs.readFile(path.join(dir, file));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") {
      throw new Error(
        `Checkpoint ${dir} is missing ${file} (${what}). A checkpoint folder needs ${CHECKPOINT_FILES.config}, ` +
          `${CHECKPOINT_FILES.weights} and ${CHECKPOINT_FILES.tokenizer}, as written by saveCheckpoint; ` +
          `copy the missing file back or point at a complete checkpoint.`,
      );
    }
    throw e;
  }
}

/** Reads the "pairwise" section of config.json (kind and model config) without loading weights. */
export async function readCheckpointMeta(dir: string): Promise<CheckpointMeta> {
  const stat = await fs.stat(dir).catch(() => null);
  if (!stat?.isDirectory()) throw new Error(`Checkpoint folder ${dir} does not exist (or is not a folder).`);
  const raw = await readRequired(dir, CHECKPOINT_FILES.config, "model configuration");
  let cfg: { pairwise?: Partial<CheckpointMeta> } & Record<string, unknown>;
  try {
    cfg = JSON.parse(raw.toString("utf8"));
  } catch {
    throw new Error(`Checkpoint ${dir}: ${CHECKPOINT_FILES.config} is not valid JSON; fix or re-save it.`);
  }
  const pw = cfg.pairwise;
  if (!pw && typeof cfg["model_type"] === "string") {
    // a Hugging Face model folder not written by Pairwise
    const hf = await readHfModelConfig(dir);
    return { format: 1, kind: hf.kind, config: hf.config, source: "huggingface" };
  }
  if (!pw || (pw.kind !== "policy" && pw.kind !== "reward") || !pw.config) {
    throw new Error(
      `Checkpoint ${dir}: ${CHECKPOINT_FILES.config} has no "pairwise" section with kind ("policy" | "reward") and ` +
        `config; it was not written by saveCheckpoint.`,
    );
  }
  let config: ModelConfig;
  try {
    config = parseModelConfig(pw.config);
  } catch (e) {
    throw new Error(
      `Checkpoint ${dir}: ${CHECKPOINT_FILES.config} has an invalid model config: ${(e as Error).message}`,
    );
  }
  return { ...(pw as CheckpointMeta), config };
}

/** Loads a policy or reward checkpoint (config.json says which), checking every tensor's shape. */
export async function loadCheckpoint(
  dir: string,
  opts: { withOptimizer?: boolean } = {},
): Promise<LoadedCheckpoint> {
  const meta = await readCheckpointMeta(dir);
  if (meta["source"] === "huggingface") return loadHfModel(dir);
  const { config, kind } = meta;
  await readRequired(dir, CHECKPOINT_FILES.tokenizer, "tokenizer");
  let tokenizer: BpeTokenizer;
  try {
    tokenizer = await loadTokenizerFromFolder(dir);
  } catch (e) {
    throw new Error(`Checkpoint ${dir}: ${CHECKPOINT_FILES.tokenizer} is invalid: ${(e as Error).message}`);
  }
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new Error(
      `Checkpoint ${dir}: tokenizer.json has ${tokenizer.vocabSize} tokens but config.json's vocabSize is ` +
        `${config.vocabSize}; the tokenizer does not belong to these weights.`,
    );
  }
  const weightsBuf = await readRequired(dir, CHECKPOINT_FILES.weights, "weights");
  const { tensors } = decodeSafetensors(weightsBuf, path.join(dir, CHECKPOINT_FILES.weights));
  const problems: string[] = [];
  for (const [name, shape] of parameterShapes(config, kind)) {
    const t = tensors.get(name);
    if (!t) problems.push(`missing tensor "${name}" (expected shape [${shape}])`);
    else if (t.shape.join(",") !== shape.join(",")) {
      problems.push(`tensor "${name}" has shape [${t.shape}] but config.json expects [${shape}]`);
    }
  }
  if (problems.length) {
    throw new Error(
      `Checkpoint ${dir}: ${CHECKPOINT_FILES.weights} does not match ${CHECKPOINT_FILES.config} ` +
        `(kind=${kind}, nLayer=${config.nLayer}, nEmbd=${config.nEmbd}, vocabSize=${config.vocabSize}, ` +
        `contextLength=${config.contextLength}): ${problems.slice(0, 5).join("; ")}` +
        `${problems.length > 5 ? `; and ${problems.length - 5} more` : ""}. ` +
        `Load it with the config it was trained with, or re-save the checkpoint.`,
    );
  }
  const named = new Map<string, tf.Tensor>();
  for (const [name, shape] of parameterShapes(config, kind)) {
    const t = tensors.get(name) as SafeTensor;
    named.set(name, tf.tensor(t.data, shape, "float32"));
  }
  const model = modelFromTensors(kind, config, named);
  tf.dispose([...named.values()]);

  const out: LoadedCheckpoint = { model, tokenizer, kind, config, meta };
  const stRaw = await fs.readFile(path.join(dir, CHECKPOINT_FILES.trainerState)).catch(() => null);
  if (stRaw) out.trainerState = JSON.parse(stRaw.toString("utf8"));
  if (opts.withOptimizer) {
    const optBuf = await fs.readFile(path.join(dir, CHECKPOINT_FILES.optimizer)).catch(() => null);
    if (!optBuf) {
      throw new Error(
        `Checkpoint ${dir} has no ${CHECKPOINT_FILES.optimizer}, so training cannot resume from it exactly. ` +
          `Resume from a checkpoint written during training (checkpointDir), or start a new run initialised from it.`,
      );
    }
    const dec = decodeSafetensors(optBuf, path.join(dir, CHECKPOINT_FILES.optimizer));
    const ot = new Map<string, tf.Tensor>();
    for (const [name, t] of dec.tensors) ot.set(name, tf.tensor(t.data, t.shape, "float32"));
    out.optimizer = { tensors: ot, t: Number(dec.metadata["t"] ?? 0) };
  }
  return out;
}
