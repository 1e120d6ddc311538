// Generation benchmark of `npm run bench -- gpu` (bench/gpu/run.ts): Pairwise's batched decoding on
// the cuda backend (generateBatch: KV cache on the GPU, trainer/cuda/decode.ts) against Hugging Face
// `model.generate` (batched, KV cache) on the same model loaded as GPT2LMHeadModel from a Pairwise
// checkpoint, on the same GPU, in one process run: 64 prompts x 256 new tokens by default, greedy and
// sampled (temperature 1), fp32 (TF32 off on both sides). The prompts are random byte-token ids of
// 16 to 48 tokens; end-of-text does not stop a row on either side (ignoreEos / eos_token_id None) so
// both generate exactly B x N tokens, and the greedy tokens are compared row by row.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  BpeTokenizer,
  PRESETS,
  type PresetName,
  Rng,
  createPolicy,
  disposeModel,
  generateBatch,
  numParams,
  saveCheckpoint,
} from "../../trainer/index";
import { setCudaPrecision } from "../../trainer/backend";
import { activeCudaBackend } from "../../trainer/cuda/backend";

export interface GenRow {
  framework: string;
  preset: string;
  precision: string;
  mode: "greedy" | "sample";
  params: number;
  prompts: number;
  newTokens: number;
  seconds: number;
  tokensPerSecond: number;
  msPerStep?: number;
  graphSteps?: number;
  steps?: number;
  /** greedy only: rows whose tokens equal Hugging Face's, and tokens equal before the first difference */
  sameRowsAsHf?: number;
  sameTokensAsHf?: number;
}

export interface GenOptions {
  presets: PresetName[];
  prompts: number;
  newTokens: number;
  out: string;
  python: string;
  torch: boolean;
  log: (m: string) => void;
}

function script(name: string): string {
  const here = typeof __dirname === "string" ? __dirname : path.join(process.cwd(), "bench", "gpu");
  const p = [path.join(here, name), path.join(process.cwd(), "bench", "gpu", name)].find((f) =>
    existsSync(f),
  );
  if (!p) throw new Error(`${name} not found`);
  return p;
}

/** A tokenizer of exactly `vocab` ids (bytes, specials, then merges of printable ASCII pairs). */
function benchTokenizer(vocab: number): BpeTokenizer {
  const base = BpeTokenizer.bytesOnly();
  const n = Math.max(0, vocab - base.vocabSize);
  const merges = Array.from({ length: n }, (_, r) => [32 + (r % 95), 32 + (Math.floor(r / 95) % 95)]);
  return BpeTokenizer.fromJSON({ ...base.toJSON(), merges });
}

export async function benchGeneration(o: GenOptions): Promise<GenRow[]> {
  const rows: GenRow[] = [];
  for (const preset of o.presets) {
    setCudaPrecision("fp32");
    const cfg = PRESETS[preset];
    const tok = benchTokenizer(cfg.vocabSize);
    const model = createPolicy(cfg, 0);
    const dir = path.join(o.out, `gen-${preset}`);
    mkdirSync(dir, { recursive: true });
    const ckpt = path.join(dir, "checkpoint");
    await saveCheckpoint(ckpt, { model, tokenizer: tok });
    const rng = new Rng(99);
    const promptIds = Array.from({ length: o.prompts }, () =>
      Array.from({ length: 16 + rng.int(33) }, () => rng.int(256)),
    );
    writeFileSync(path.join(dir, "prompts.json"), JSON.stringify({ promptIds, pad: tok.padId }));
    const base = { framework: "pairwise-cuda", preset, precision: "fp32", params: numParams(model) };
    const texts = promptIds.map(() => "");
    const be = activeCudaBackend();
    let greedyTokens: number[][] = [];
    for (const mode of ["greedy", "sample"] as const) {
      const opts = {
        promptIds,
        maxTokens: o.newTokens,
        temperature: mode === "greedy" ? 0 : 1,
        seeds: promptIds.map((_, i) => i),
        ignoreEos: true,
        batchSize: o.prompts,
      };
      await generateBatch(model, tok, texts, { ...opts, maxTokens: 8 }); // warm-up (build, graphs)
      const s0 = be?.stats.cuda.DecodeStep ?? 0;
      const g0 = be?.stats.cuda.DecodeGraphStep ?? 0;
      const t0 = performance.now();
      const res = await generateBatch(model, tok, texts, opts);
      const seconds = (performance.now() - t0) / 1000;
      const steps = (be?.stats.cuda.DecodeStep ?? 0) - s0;
      const n = res.reduce((a, r) => a + r.tokens.length, 0);
      if (mode === "greedy") greedyTokens = res.map((r) => r.tokens);
      rows.push({
        ...base,
        mode,
        prompts: o.prompts,
        newTokens: o.newTokens,
        seconds,
        tokensPerSecond: n / seconds,
        steps,
        graphSteps: (be?.stats.cuda.DecodeGraphStep ?? 0) - g0,
        msPerStep: (seconds * 1000) / Math.max(1, steps),
      });
      o.log(
        `  cuda generate ${preset} ${mode}: ${(n / seconds).toFixed(0)} tokens/s (${n} tokens, ${steps} steps, ${seconds.toFixed(2)} s)`,
      );
    }
    disposeModel(model);
    if (!o.torch) continue;
    const hfOut = path.join(dir, "hf.json");
    const args = [
      script("hf_generate.py"),
      "--ckpt",
      ckpt,
      "--prompts",
      path.join(dir, "prompts.json"),
      "--new",
      String(o.newTokens),
      "--out",
      hfOut,
    ];
    o.log(`$ ${o.python} ${args.join(" ")}`);
    const r = spawnSync(o.python, args, {
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, PYTHONUNBUFFERED: "1" },
    });
    if (r.status !== 0) {
      o.log(`hf_generate.py exited with ${r.status}`);
      continue;
    }
    const hf = JSON.parse(readFileSync(hfOut, "utf8")) as {
      rows: {
        precision: string;
        mode: "greedy" | "sample";
        seconds: number;
        tokens: number;
        tokenIds?: number[][];
      }[];
    };
    for (const h of hf.rows) {
      const row: GenRow = {
        framework: "hf-generate",
        preset,
        precision: h.precision,
        mode: h.mode,
        params: base.params,
        prompts: o.prompts,
        newTokens: o.newTokens,
        seconds: h.seconds,
        tokensPerSecond: h.tokens / h.seconds,
      };
      rows.push(row);
      if (h.tokenIds && h.mode === "greedy" && h.precision === "fp32") {
        let same = 0;
        let prefix = 0;
        h.tokenIds.forEach((ids, i) => {
          const ours = greedyTokens[i] ?? [];
          let k = 0;
          while (k < ids.length && ids[k] === ours[k]) k++;
          prefix += k;
          if (k === ids.length && ids.length === ours.length) same++;
        });
        const mine = rows.find(
          (x) => x.framework === "pairwise-cuda" && x.preset === preset && x.mode === "greedy",
        );
        if (mine) {
          mine.sameRowsAsHf = same;
          mine.sameTokensAsHf = prefix;
        }
        o.log(
          `  greedy tokens equal to HF: ${same}/${h.tokenIds.length} rows, ${prefix} of ${o.prompts * o.newTokens} tokens before the first difference`,
        );
      }
    }
  }
  return rows;
}

export function generationTable(rows: GenRow[]): string {
  const fmt = (n: number | undefined) =>
    n === undefined || !Number.isFinite(n) ? "–" : Math.round(n).toLocaleString("en-US");
  const lines = [
    "| preset | decoding | prompts x new tokens | Pairwise cuda tokens/s | HF generate tokens/s (fp32) | cuda / HF | Pairwise ms/step (graph steps) | greedy tokens equal to HF |",
    "| --- | --- | --- | ---: | ---: | ---: | --- | --- |",
  ];
  for (const r of rows.filter((x) => x.framework === "pairwise-cuda")) {
    const hf = rows.find(
      (x) =>
        x.framework === "hf-generate" && x.preset === r.preset && x.mode === r.mode && x.precision === "fp32",
    );
    const ratio = hf ? `${(r.tokensPerSecond / hf.tokensPerSecond).toFixed(2)}x` : "–";
    const same =
      r.sameRowsAsHf === undefined
        ? "–"
        : `${r.sameRowsAsHf}/${r.prompts} rows, ${fmt(r.sameTokensAsHf)}/${fmt(r.prompts * r.newTokens)} tokens`;
    lines.push(
      `| ${r.preset} | ${r.mode} | ${r.prompts} x ${r.newTokens} | ${fmt(r.tokensPerSecond)} | ${fmt(hf?.tokensPerSecond)} | ${ratio} | ${(r.msPerStep ?? 0).toFixed(2)} (${r.graphSteps ?? "–"}) | ${same} |`,
    );
  }
  for (const r of rows.filter((x) => x.framework === "hf-generate" && x.precision !== "fp32"))
    lines.push(
      `| ${r.preset} | ${r.mode} (HF ${r.precision}) | ${r.prompts} x ${r.newTokens} | – | ${fmt(r.tokensPerSecond)} | – | – | – |`,
    );
  return lines.join("\n");
}
