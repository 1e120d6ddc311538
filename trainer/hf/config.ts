// Hugging Face config.json -> Pairwise ModelConfig (+ the `hf` architecture section), and back.
//
// Reads both spellings transformers has used: 4.x (`rope_theta`, `rope_scaling`, `torch_dtype`) and
// 5.x (`rope_parameters` holding rope_theta and the scaling, `dtype`). Families: gpt2 (Pairwise's
// own GPT is HF GPT-2, so it runs on trainer/model.ts as is) and llama / qwen2 (trainer/hf/llama.ts:
// RoPE incl. Llama 3 scaling, RMSNorm, SwiGLU, grouped-query attention, tied or untied head, and
// Qwen2's q/k/v biases).
import { z } from "zod";
import type { ModelKind } from "../model";

export const HfArchSchema = z.object({
  family: z.enum(["gpt2", "llama", "qwen2"]),
  nKvHead: z.number().int().positive(),
  headDim: z.number().int().positive(),
  intermediateSize: z.number().int().positive(),
  ropeTheta: z.number().positive(),
  /** Llama 3 frequency scaling (rope_type "llama3"), or null for plain RoPE. */
  ropeScaling: z
    .object({
      factor: z.number(),
      lowFreqFactor: z.number(),
      highFreqFactor: z.number(),
      originalMaxPositions: z.number(),
    })
    .nullable(),
  tied: z.boolean(),
  qkvBias: z.boolean(),
  oBias: z.boolean(),
  mlpBias: z.boolean(),
  /** dtype of the weights as stored in the source folder (float32 | float16 | bfloat16). */
  dtype: z.string(),
  /** The source config.json, kept so that a saved checkpoint writes the same keys back. */
  source: z.record(z.string(), z.unknown()),
});
export type HfArch = z.infer<typeof HfArchSchema>;

type Json = Record<string, unknown>;
const num = (c: Json, k: string): number | undefined =>
  typeof c[k] === "number" ? (c[k] as number) : undefined;

function need(c: Json, k: string, where: string): number {
  const v = num(c, k);
  if (v === undefined) throw new Error(`${where}: config.json has no numeric "${k}"`);
  return v;
}

/** The weights' dtype as config.json states it (`dtype` in transformers 5, `torch_dtype` in 4). */
export function configDtype(c: Json): string {
  const d = (c["dtype"] ?? c["torch_dtype"] ?? "float32") as string;
  return String(d).replace(/^torch\./, "");
}

/** rope_theta and Llama 3 scaling from either spelling. */
function readRope(c: Json, where: string): { theta: number; scaling: HfArch["ropeScaling"] } {
  const params = (c["rope_parameters"] ?? null) as Json | null; // transformers 5
  const legacy = (c["rope_scaling"] ?? null) as Json | null; // transformers 4
  const theta = num(params ?? {}, "rope_theta") ?? num(c, "rope_theta") ?? 10000;
  const s = legacy ?? params;
  const type = s ? ((s["rope_type"] ?? s["type"] ?? "default") as string) : "default";
  if (type === "default") return { theta, scaling: null };
  if (type !== "llama3")
    throw new Error(`${where}: rope scaling "${type}" is not supported (supported: default, llama3)`);
  const S = s as Json;
  return {
    theta,
    scaling: {
      factor: need(S, "factor", where),
      lowFreqFactor: need(S, "low_freq_factor", where),
      highFreqFactor: need(S, "high_freq_factor", where),
      originalMaxPositions: need(S, "original_max_position_embeddings", where),
    },
  };
}

export interface ParsedHfConfig {
  kind: ModelKind;
  /** Pairwise ModelConfig fields (vocabSize, contextLength, nLayer, nHead, nEmbd, ...) + hf. */
  config: {
    vocabSize: number;
    contextLength: number;
    nLayer: number;
    nHead: number;
    nEmbd: number;
    layerNormEps: number;
    initStd: number;
    hf: HfArch;
  };
  architecture: string;
}

/** Parses a Hugging Face config.json. `where` names the folder in errors. */
export function parseHfConfig(full: Json, where = "model"): ParsedHfConfig {
  const { pairwise: _pairwise, ...c } = full; // the source keeps HF keys only (no recursion round after round)
  const modelType = c["model_type"] as string | undefined;
  const archs = (c["architectures"] as string[] | undefined) ?? [];
  const architecture = archs[0] ?? `${modelType}`;
  const kind: ModelKind = /ForSequenceClassification$/.test(architecture) ? "reward" : "policy";
  if (kind === "reward") {
    const labels =
      num(c, "num_labels") ?? Object.keys((c["id2label"] as Json | undefined) ?? { 0: 0 }).length;
    if (labels !== 1)
      throw new Error(
        `${where}: a reward model needs one label (score.weight of shape [1, hidden]); it has ${labels}`,
      );
  }
  const dtype = configDtype(c);
  if (modelType === "gpt2") {
    const C = need(c, "n_embd", where);
    const act = (c["activation_function"] ?? "gelu_new") as string;
    if (!["gelu_new", "gelu_pytorch_tanh"].includes(act))
      throw new Error(`${where}: GPT-2 activation "${act}" is not supported (gelu_new)`);
    if (c["n_inner"] != null && c["n_inner"] !== 4 * C)
      throw new Error(`${where}: GPT-2 with n_inner ${c["n_inner"]} != 4 * n_embd is not supported`);
    if (c["scale_attn_by_inverse_layer_idx"] === true || c["scale_attn_weights"] === false)
      throw new Error(`${where}: GPT-2 attention scaling variants are not supported`);
    const nHead = need(c, "n_head", where);
    return {
      kind,
      architecture,
      config: {
        vocabSize: need(c, "vocab_size", where),
        contextLength: need(c, "n_positions", where),
        nLayer: need(c, "n_layer", where),
        nHead,
        nEmbd: C,
        layerNormEps: num(c, "layer_norm_epsilon") ?? 1e-5,
        initStd: num(c, "initializer_range") ?? 0.02,
        hf: {
          family: "gpt2",
          nKvHead: nHead,
          headDim: C / nHead,
          intermediateSize: 4 * C,
          ropeTheta: 10000,
          ropeScaling: null,
          tied: true,
          qkvBias: true,
          oBias: true,
          mlpBias: true,
          dtype,
          source: c,
        },
      },
    };
  }
  if (modelType === "llama" || modelType === "qwen2") {
    const C = need(c, "hidden_size", where);
    const nHead = need(c, "num_attention_heads", where);
    const act = (c["hidden_act"] ?? "silu") as string;
    if (act !== "silu") throw new Error(`${where}: hidden_act "${act}" is not supported (silu)`);
    if (modelType === "qwen2" && c["use_sliding_window"] === true)
      throw new Error(`${where}: Qwen2 sliding-window attention is not supported`);
    const rope = readRope(c, where);
    const bias = modelType === "llama" && c["attention_bias"] === true;
    return {
      kind,
      architecture,
      config: {
        vocabSize: need(c, "vocab_size", where),
        contextLength: num(c, "max_position_embeddings") ?? 2048,
        nLayer: need(c, "num_hidden_layers", where),
        nHead,
        nEmbd: C,
        layerNormEps: num(c, "rms_norm_eps") ?? 1e-6,
        initStd: num(c, "initializer_range") ?? 0.02,
        hf: {
          family: modelType,
          nKvHead: num(c, "num_key_value_heads") ?? nHead,
          headDim: num(c, "head_dim") ?? C / nHead,
          intermediateSize: need(c, "intermediate_size", where),
          ropeTheta: rope.theta,
          ropeScaling: rope.scaling,
          tied: c["tie_word_embeddings"] === true, // LlamaConfig's and Qwen2Config's default is false
          qkvBias: modelType === "qwen2" || bias,
          oBias: bias,
          mlpBias: modelType === "llama" && c["mlp_bias"] === true,
          dtype,
          source: c,
        },
      },
    };
  }
  throw new Error(
    `${where}: unsupported architecture "${architecture}" (model_type "${modelType}"). ` +
      `Pairwise loads gpt2, llama and qwen2 models (…ForCausalLM, …LMHeadModel, …ForSequenceClassification).`,
  );
}

const CAUSAL: Record<HfArch["family"], string> = {
  gpt2: "GPT2LMHeadModel",
  llama: "LlamaForCausalLM",
  qwen2: "Qwen2ForCausalLM",
};
const SEQCLS: Record<HfArch["family"], string> = {
  gpt2: "GPT2ForSequenceClassification",
  llama: "LlamaForSequenceClassification",
  qwen2: "Qwen2ForSequenceClassification",
};

/** The transformers class a model of this family and kind loads as. */
export function hfArchitecture(family: HfArch["family"], kind: ModelKind): string {
  return kind === "reward" ? SEQCLS[family] : CAUSAL[family];
}

/**
 * config.json for a llama/qwen2 model Pairwise saves: the source config with the architecture,
 * dtype and special-token ids of what is written (both dtype spellings, so transformers 4 and 5 read it).
 */
export function hfConfigJson(
  arch: HfArch,
  kind: ModelKind,
  o: { dtype: string; bosId?: number | null; eosId?: number | number[] | null; padId?: number | null },
): Json {
  const out: Json = { ...arch.source };
  out["architectures"] = [hfArchitecture(arch.family, kind)];
  delete out["torch_dtype"];
  out["dtype"] = o.dtype;
  out["torch_dtype"] = o.dtype;
  if (kind === "reward") {
    out["num_labels"] = 1;
    out["id2label"] = { "0": "LABEL_0" };
    out["label2id"] = { LABEL_0: 0 };
  } else {
    delete out["id2label"];
    delete out["label2id"];
    delete out["num_labels"];
  }
  if (o.bosId != null) out["bos_token_id"] = o.bosId;
  if (o.eosId != null) out["eos_token_id"] = o.eosId;
  if (o.padId != null) out["pad_token_id"] = o.padId; // needed by *ForSequenceClassification on batches
  return out;
}
