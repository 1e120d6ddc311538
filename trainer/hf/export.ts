// Exporting a model folder for transformers / vLLM / TRL: config.json, model.safetensors in the
// chosen dtype, tokenizer.json + tokenizer_config.json (chat template), generation_config.json;
// no optimizer or trainer state.
import { promises as fs } from "node:fs";
import path from "node:path";
import { loadCheckpoint, saveCheckpoint } from "../checkpoint";
import { disposeModel } from "../model";
import { describeModel, type ModelInfo } from "./model";
import { readHfWeights, type WeightDtype, writeSafetensors } from "./weights";

/** Copies the model of `src` (a Pairwise checkpoint or any HF folder Pairwise reads) to `dest`. */
export async function exportModel(
  src: string,
  dest: string,
  opts: { dtype?: WeightDtype } = {},
): Promise<ModelInfo & { files: string[] }> {
  const dtype = opts.dtype ?? "float32";
  const ck = await loadCheckpoint(src);
  const info = describeModel(ck.model);
  try {
    await saveCheckpoint(dest, {
      model: ck.model,
      tokenizer: ck.tokenizer,
      meta: { exportedFrom: path.resolve(src) },
    });
  } finally {
    disposeModel(ck.model);
  }
  if (dtype !== "float32") {
    const w = await readHfWeights(dest);
    await fs.writeFile(path.join(dest, "model.safetensors"), writeSafetensors(w.tensors, dtype));
    const cfgPath = path.join(dest, "config.json");
    const cfg = JSON.parse(await fs.readFile(cfgPath, "utf8")) as Record<string, unknown>;
    cfg["dtype"] = dtype;
    cfg["torch_dtype"] = dtype;
    await fs.writeFile(cfgPath, JSON.stringify(cfg, null, 2));
  }
  return { ...info, dtype, files: (await fs.readdir(dest)).sort() };
}
