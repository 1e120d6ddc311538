// pairwise export-model <folder> --out <dir> [--dtype float32|bfloat16|float16]
// pairwise export-model --checkpoint <id-or-name> --out <dir>
import { promises as fs } from "node:fs";
import path from "node:path";
import { exportModel, type WeightDtype } from "@/trainer";
import { withDatabase } from "@/server/db/connect";
import { db } from "@/server/db/client";
import { env } from "@/server/env";
import { checkpointPath } from "@/server/training/models";
import { println, str, UsageError, type Command } from "../command";

const DTYPES = ["float32", "bfloat16", "float16"] as const;

export const exportModelCommand: Command = {
  name: "export-model",
  summary: "Write a checkpoint as a Hugging Face model folder (transformers, vLLM, TRL load it as is)",
  help: `Usage:
  pairwise export-model <checkpoint-folder> --out <dir> [--dtype float32|bfloat16|float16]
  pairwise export-model --checkpoint <id-or-name> --out <dir> [--dtype ...]

Writes config.json, model.safetensors, tokenizer.json, tokenizer_config.json (with the chat template)
and generation_config.json: AutoModelForCausalLM.from_pretrained(dir) (AutoModelForSequenceClassification
for reward models) and AutoTokenizer.from_pretrained(dir) load it with no Pairwise code. The source
may also be any Hugging Face gpt2 / llama / qwen2 folder Pairwise reads. Default dtype: float32.`,
  options: {
    out: { type: "string", short: "o" },
    checkpoint: { type: "string", short: "c" },
    dtype: { type: "string" },
  },
  async run({ values, positionals }, io) {
    const out = str(values.out);
    if (!out) throw new UsageError("--out <dir> is required");
    const dtype = (str(values.dtype) ?? "float32") as WeightDtype;
    if (!DTYPES.includes(dtype)) throw new UsageError(`--dtype must be one of ${DTYPES.join(", ")}`);
    let src = positionals[0];
    const ref = str(values.checkpoint);
    if (!src && !ref) throw new UsageError("give a checkpoint folder or --checkpoint <id-or-name>");
    if (ref) {
      src = await withDatabase(async () => {
        const c = await db().checkpoint.findFirst({ where: { OR: [{ id: ref }, { name: ref }] } });
        if (!c) throw new UsageError(`no checkpoint ${JSON.stringify(ref)}`);
        return checkpointPath(env().checkpointDir, c);
      });
    }
    const from = path.resolve(src as string);
    if (!(await fs.stat(from).catch(() => null))?.isDirectory())
      throw new UsageError(`${from} is not a folder`);
    const dest = path.resolve(out);
    const r = await exportModel(from, dest, { dtype });
    println(
      io.stdout,
      `${r.architecture} (${r.parameters} parameters, ${r.dtype}) written to ${dest}: ${r.files.join(", ")}`,
    );
    return 0;
  },
};
