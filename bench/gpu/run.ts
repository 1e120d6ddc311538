// GPU benchmark: Pairwise's `cuda` backend against the PyTorch reference (bench/trainer/torch_ref.py)
// on the same GPT presets, batches and steps (SFT; DPO with cached reference log-probs), at fp32
// (TF32 off on both sides) and bf16 (bf16 matmuls with fp32 master weights, against bf16 autocast),
// in one process run. Writes bench/results/gpu-bench.json and gpu-bench.md (or --out).
//
//   npm run bench -- gpu [--presets tiny,small,base] [--precisions fp32,bf16] [--steps 10] [--no-torch]
//                        [--compile [--compile-presets base]]
//   GPU box, bundled: node .device/app/bench-gpu.cjs --out $OUT   (bench/gpu/bundle.sh)
//
// Per row it also reports the profile of a step: CUDA kernels launched, kernels that fell back to
// the CPU, host time to enqueue the step (the dispatch overhead), and peak GPU memory of the
// caching allocator (next to torch.cuda.max_memory_allocated).
import * as tf from "@tensorflow/tfjs";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import {
  AdamW,
  PRESETS,
  type PresetName,
  Rng,
  clipByGlobalNorm,
  cloneModel,
  createPolicy,
  disposeModel,
  lmLoss,
  numParams,
  preferenceLoss,
  selectBackend,
  sequenceLogpsFromTokens,
  tokenLogProbs,
  type GPTModel,
} from "../../trainer/index";
import { type CudaPrecision, setCudaPrecision } from "../../trainer/backend";
import { activeCudaBackend } from "../../trainer/cuda/backend";
import { type GenRow, benchGeneration, generationTable } from "./generate";

const SHAPES: Record<PresetName, { B: number; T: number }> = {
  tiny: { B: 16, T: 128 },
  small: { B: 8, T: 256 },
  base: { B: 8, T: 512 },
};

const { values: args } = parseArgs({
  options: {
    presets: { type: "string", default: "tiny,small,base" },
    precisions: { type: "string", default: "fp32,bf16" },
    steps: { type: "string", default: "10" },
    warmup: { type: "string", default: "3" },
    out: { type: "string", default: "bench/results" },
    "no-torch": { type: "boolean", default: false },
    compile: { type: "boolean", default: false }, // also time torch.compile (slow to compile)
    "compile-presets": { type: "string", default: "base" },
    python: { type: "string", default: "python3" },
    // generation (bench/gpu/generate.ts): presets ("none" to skip), prompts x new tokens
    generate: { type: "string", default: "base" },
    "gen-prompts": { type: "string", default: "64" },
    "gen-tokens": { type: "string", default: "256" },
  },
});

interface Row {
  framework: string;
  preset: string;
  precision: string;
  params: number;
  B: number;
  T: number;
  step: "sft" | "dpo";
  msPerStep: number;
  tokensPerSecond: number;
  firstStepMs?: number;
  hostMsPerStep?: number;
  kernelsPerStep?: number;
  cpuFallbacksPerStep?: Record<string, number>;
  peakMemMB: number;
}

function trainStep(model: GPTModel, opt: AdamW, lossFn: () => tf.Scalar): tf.Scalar {
  const vars = [...model.params.values()];
  const names = new Map([...model.params].map(([n, v]) => [v.name, n]));
  const { value, grads } = tf.variableGrads(lossFn, vars);
  const named = new Map(Object.entries(grads).map(([k, g]) => [names.get(k) as string, g]));
  const clipped = clipByGlobalNorm(named, 1.0);
  tf.dispose(Object.values(grads));
  opt.apply(clipped.grads, 1e-4);
  tf.dispose([...clipped.grads.values(), clipped.norm]);
  return value;
}

const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
function diff(a: Record<string, number>, b: Record<string, number>, n: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(a)) {
    const d = (v - (b[k] ?? 0)) / n;
    if (d > 0) out[k] = Math.round(d * 10) / 10;
  }
  return out;
}

async function timeIt(step: () => tf.Scalar, warmup: number, steps: number) {
  const be = activeCudaBackend();
  if (!be) throw new Error("the cuda backend is not active");
  let first = 0;
  for (let i = 0; i < warmup; i++) {
    const t0 = performance.now();
    const l = step();
    await l.data();
    l.dispose();
    if (i === 0) first = performance.now() - t0;
  }
  be.addon.memStats(1); // reset the peak
  const k0 = { ...be.stats.cuda };
  const c0 = { ...be.stats.cpu };
  let host = 0;
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    const h0 = performance.now();
    const l = step();
    host += performance.now() - h0;
    await l.data(); // sync point: the step is done on the device
    l.dispose();
  }
  const ms = (performance.now() - t0) / steps;
  const peak = be.addon.memStats()[2];
  return {
    ms,
    first,
    host: host / steps,
    kernels: sum(diff(be.stats.cuda, k0, steps)),
    cpu: diff(be.stats.cpu, c0, steps),
    peakMB: peak / 2 ** 20,
  };
}

async function benchPreset(preset: PresetName, precision: CudaPrecision): Promise<Row[]> {
  setCudaPrecision(precision);
  const cfg = PRESETS[preset];
  const { B, T } = SHAPES[preset];
  const rng = new Rng(1234);
  const ri = (n: number) => Int32Array.from({ length: n }, () => rng.int(cfg.vocabSize));
  const model = createPolicy(cfg, 0);
  const opt = new AdamW(model.params, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
  const steps = Number(args.steps);
  const warmup = Number(args.warmup);
  const rows: Row[] = [];
  const base = { framework: "pairwise-cuda", preset, precision, params: numParams(model), B, T };

  const ids = tf.tensor2d(ri(B * T), [B, T], "int32");
  const tgt = tf.tensor2d(ri(B * T), [B, T], "int32");
  const mask = tf.ones([B, T]) as tf.Tensor2D;
  const sft = await timeIt(
    () => trainStep(model, opt, () => lmLoss(tokenLogProbs(model, ids, tgt), mask)),
    warmup,
    steps,
  );
  rows.push({
    ...base,
    step: "sft",
    msPerStep: sft.ms,
    tokensPerSecond: (B * T) / (sft.ms / 1000),
    firstStepMs: sft.first,
    hostMsPerStep: sft.host,
    kernelsPerStep: sft.kernels,
    cpuFallbacksPerStep: sft.cpu,
    peakMemMB: sft.peakMB,
  });
  console.error(
    `  cuda ${precision} ${preset} sft: ${sft.ms.toFixed(2)} ms/step (host ${sft.host.toFixed(2)} ms, ${sft.kernels} kernels)`,
  );

  const ref = cloneModel(model, { trainable: false });
  const ids2 = tf.tensor2d(ri(2 * B * T), [2 * B, T], "int32");
  const tgt2 = tf.tensor2d(ri(2 * B * T), [2 * B, T], "int32");
  const cm = new Float32Array(2 * B * T);
  for (let b = 0; b < 2 * B; b++) for (let t = T / 2; t < T; t++) cm[b * T + t] = 1;
  const mask2 = tf.tensor2d(cm, [2 * B, T]);
  const refLogps = tf.tidy(() => sequenceLogpsFromTokens(tokenLogProbs(ref, ids2, tgt2), mask2));
  disposeModel(ref);
  const refC = tf.slice(refLogps, [0], [B]) as tf.Tensor1D;
  const refR = tf.slice(refLogps, [B], [B]) as tf.Tensor1D;
  const lens = tf.fill([B], T / 2) as tf.Tensor1D;
  const dpo = await timeIt(
    () =>
      trainStep(model, opt, () => {
        const s = sequenceLogpsFromTokens(tokenLogProbs(model, ids2, tgt2), mask2);
        return preferenceLoss("dpo", {
          policyChosenLogps: tf.slice(s, [0], [B]) as tf.Tensor1D,
          policyRejectedLogps: tf.slice(s, [B], [B]) as tf.Tensor1D,
          refChosenLogps: refC,
          refRejectedLogps: refR,
          chosenLengths: lens,
          rejectedLengths: lens,
        }).loss;
      }),
    warmup,
    steps,
  );
  rows.push({
    ...base,
    step: "dpo",
    msPerStep: dpo.ms,
    tokensPerSecond: (2 * B * T) / (dpo.ms / 1000),
    firstStepMs: dpo.first,
    hostMsPerStep: dpo.host,
    kernelsPerStep: dpo.kernels,
    cpuFallbacksPerStep: dpo.cpu,
    peakMemMB: dpo.peakMB,
  });
  console.error(
    `  cuda ${precision} ${preset} dpo: ${dpo.ms.toFixed(2)} ms/step (host ${dpo.host.toFixed(2)} ms, ${dpo.kernels} kernels)`,
  );
  tf.dispose([ids, tgt, mask, ids2, tgt2, mask2, refLogps, refC, refR, lens]);
  opt.dispose();
  disposeModel(model);
  setCudaPrecision("fp32");
  return rows;
}

function torchRef(presets: string, precisions: string, out: string): Row[] {
  const here = typeof __dirname === "string" ? __dirname : path.join(process.cwd(), "bench", "gpu");
  const script = [path.join(here, "torch_ref.py"), path.join(here, "..", "trainer", "torch_ref.py")].find(
    (p) => existsSync(p),
  );
  if (!script) throw new Error("torch_ref.py not found");
  const dir = path.join(out, "torch");
  const a = [
    script,
    "--presets",
    presets,
    "--dtypes",
    precisions,
    "--steps",
    String(args.steps),
    "--warmup",
    String(args.warmup),
    "--out",
    dir,
  ];
  if (args.compile) a.push("--compile", "--compile-presets", args["compile-presets"] as string);
  console.error(`$ ${args.python} ${a.join(" ")}`);
  const r = spawnSync(args.python as string, a, {
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, PYTHONUNBUFFERED: "1" },
  });
  if (r.status !== 0) throw new Error(`torch_ref.py exited with ${r.status}`);
  const j = JSON.parse(readFileSync(path.join(dir, "torch-ref.json"), "utf8")) as {
    rows: (Row & { framework: string })[];
  };
  return j.rows.map((r) => ({ ...r, precision: r.framework.endsWith("bf16") ? "bf16" : "fp32" }));
}

function table(rows: Row[]): string {
  const fmt = (n: number | undefined) =>
    n === undefined || !Number.isFinite(n) ? "–" : Math.round(n).toLocaleString("en-US");
  const find = (fw: string, r: Row) =>
    rows.find(
      (x) => x.framework === fw && x.preset === r.preset && x.step === r.step && x.precision === r.precision,
    );
  const lines = [
    "| preset | step | precision | Pairwise cuda tokens/s | PyTorch eager tokens/s | cuda / eager | torch.compile tokens/s | Pairwise ms/step (host ms) | kernels/step | peak MB Pairwise / PyTorch |",
    "| --- | --- | --- | ---: | ---: | ---: | ---: | --- | ---: | --- |",
  ];
  for (const r of rows.filter((x) => x.framework === "pairwise-cuda")) {
    const eager = find(`pytorch-${r.precision}`, r);
    const comp = find(`pytorch-compile-${r.precision}`, r);
    const ratio = eager ? `${(r.tokensPerSecond / eager.tokensPerSecond).toFixed(2)}x` : "–";
    lines.push(
      `| ${r.preset} | ${r.step} | ${r.precision} | ${fmt(r.tokensPerSecond)} | ${fmt(eager?.tokensPerSecond)} | ${ratio} | ${fmt(comp?.tokensPerSecond)} | ${r.msPerStep.toFixed(2)} (${(r.hostMsPerStep ?? 0).toFixed(2)}) | ${r.kernelsPerStep ?? "–"} | ${fmt(r.peakMemMB)} / ${fmt(eager?.peakMemMB)} |`,
    );
  }
  return lines.join("\n");
}

async function main() {
  const info = await selectBackend({ force: "cuda", log: (m) => console.error(m) });
  const presets = (args.presets as string).split(",").filter((p) => p && p !== "none") as PresetName[];
  const precisions = (args.precisions as string).split(",") as CudaPrecision[];
  const rows: Row[] = [];
  for (const precision of precisions) {
    for (const p of presets) {
      try {
        rows.push(...(await benchPreset(p, precision)));
      } catch (e) {
        console.error(`  cuda ${precision} ${p} failed: ${(e as Error).stack}`);
      }
    }
  }
  const out = args.out as string;
  mkdirSync(out, { recursive: true });
  let gen: GenRow[] = [];
  const genPresets = (args.generate as string).split(",").filter((p) => p && p !== "none") as PresetName[];
  if (genPresets.length) {
    try {
      gen = await benchGeneration({
        presets: genPresets,
        prompts: Number(args["gen-prompts"]),
        newTokens: Number(args["gen-tokens"]),
        out,
        python: args.python as string,
        torch: !args["no-torch"],
        log: (m) => console.error(m),
      });
    } catch (e) {
      console.error(`generation benchmark failed: ${(e as Error).stack}`);
    }
  }
  if (!args["no-torch"] && presets.length) {
    try {
      rows.push(...torchRef(presets.join(","), precisions.join(","), out));
    } catch (e) {
      console.error(`PyTorch reference failed: ${(e as Error).message}`);
    }
  }
  const md = [presets.length ? table(rows) : "", gen.length ? `Generation:\n\n${generationTable(gen)}` : ""]
    .filter(Boolean)
    .join("\n\n");
  const stamp = new Date().toISOString();
  const meta = {
    date: stamp,
    device: info.detail,
    node: process.version,
    tfjs: tf.version.tfjs,
    command: process.argv.slice(1).join(" "),
  };
  writeFileSync(
    path.join(out, "gpu-bench.json"),
    JSON.stringify({ meta, shapes: SHAPES, rows, generation: gen }, null, 2),
  );
  writeFileSync(path.join(out, "gpu-bench.md"), `# GPU benchmark (${stamp})\n\n${info.detail}\n\n${md}\n`);
  console.log(md);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
