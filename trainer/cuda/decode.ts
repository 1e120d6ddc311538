// Generation on the GPU: a GPT-2 decoder over a model's device weights with a KV cache
// (trainer/cuda/pairwise_decode.cuh). `CudaDecoder.step` runs B rows x T new tokens at one shared
// position (rows advance together; trainer/generate.ts feeds each row's prompt, then its samples)
// and returns the last position's argmax (pad banned) and, on request, the logits.
//
// The decoder reads the weights in place: it is made per generation call and must not outlive the
// model or a training step that replaces its variables. CUDA graphs replay one-token steps
// (PAIRWISE_CUDA_GRAPHS=0 turns them off).
import type { GPTModel } from "../model";
import { activeCudaBackend } from "./backend";

/** True when `model` can decode with the native engine: cuda backend active, GPT-2 policy. */
export function cudaDecodeAvailable(model: GPTModel): boolean {
  const be = activeCudaBackend();
  if (!be || typeof be.addon.decodeNew !== "function") return false;
  if (model.kind !== "policy" || (model.config.hf && model.config.hf.family !== "gpt2")) return false;
  if (process.env.PAIRWISE_CUDA_DECODE === "0") return false;
  return [...model.params.values()].every((v) => v.dtype === "float32");
}

export class CudaDecoder {
  readonly B: number;
  readonly V: number;
  readonly maxT: number;
  /** One-token steps that ran as a replayed CUDA graph. */
  graphSteps = 0;
  steps = 0;
  private handle: number;
  private readonly argmax: Float32Array;
  private logits: Float32Array | null = null;
  private readonly useGraph: number;

  constructor(model: GPTModel, B: number, maxT: number, banned: number) {
    const be = activeCudaBackend();
    if (!be?.addon.decodeNew) throw new Error("CudaDecoder needs the cuda backend");
    const cfg = model.config;
    const P = (name: string) => {
      const v = model.params.get(name);
      if (!v) throw new Error(`model ${model.id} has no parameter ${name}`);
      return be.ptr(v);
    };
    const table = [
      P("transformer.wte.weight"),
      P("transformer.wpe.weight"),
      P("transformer.ln_f.weight"),
      P("transformer.ln_f.bias"),
    ];
    for (let i = 0; i < cfg.nLayer; i++) {
      const h = `transformer.h.${i}`;
      for (const n of [
        "ln_1.weight",
        "ln_1.bias",
        "attn.c_attn.weight",
        "attn.c_attn.bias",
        "attn.c_proj.weight",
        "attn.c_proj.bias",
        "ln_2.weight",
        "ln_2.bias",
        "mlp.c_fc.weight",
        "mlp.c_fc.bias",
        "mlp.c_proj.weight",
        "mlp.c_proj.bias",
      ])
        table.push(P(`${h}.${n}`));
    }
    this.B = B;
    this.V = cfg.vocabSize;
    this.maxT = Math.min(maxT, cfg.contextLength);
    this.handle = be.addon.decodeNew(
      Float64Array.from(table),
      cfg.nLayer,
      cfg.nEmbd,
      cfg.nHead,
      cfg.vocabSize,
      B,
      this.maxT,
      cfg.layerNormEps,
      banned,
    );
    this.argmax = new Float32Array(B);
    this.useGraph = process.env.PAIRWISE_CUDA_GRAPHS === "0" ? 0 : 1;
  }

  /** Feeds ids (B x T, row-major) at positions pos0..pos0+T-1; waits for the device. */
  step(
    ids: Int32Array,
    T: number,
    pos0: number,
    wantLogits: boolean,
  ): { argmax: Float32Array; logits: Float32Array | null } {
    const be = activeCudaBackend();
    if (!be?.addon.decodeStep || this.handle < 0) throw new Error("CudaDecoder: disposed or cuda inactive");
    if (wantLogits && !this.logits) this.logits = new Float32Array(this.B * this.V);
    const g = be.addon.decodeStep(
      this.handle,
      ids,
      T,
      pos0,
      this.argmax,
      wantLogits ? this.logits : null,
      this.useGraph,
    );
    this.steps++;
    if (g) this.graphSteps++;
    be.count("DecodeStep");
    if (g) be.count("DecodeGraphStep");
    return { argmax: this.argmax, logits: wantLogits ? this.logits : null };
  }

  dispose(): void {
    if (this.handle < 0) return;
    activeCudaBackend()?.addon.decodeFree?.(this.handle);
    this.handle = -1;
  }
}
