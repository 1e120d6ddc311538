// Trainer benchmark: tokens/s of one SFT step and one DPO step (forward + backward + AdamW, timed
// to a device sync) per backend and preset, with memory. Writes JSON + a markdown table into
// bench/results/ (or --out) and prints the table.
//
//   npx tsx bench/trainer/run.ts [--backends wasm,cpu] [--presets tiny,small] [--steps 5]
//   GPU box: esbuild bundle -> node .device/app/bench.cjs --backends webgpu --presets tiny,small,base
//
// The batch per preset (B x T) matches bench/trainer/torch_ref.py, which times the same model and
// step in PyTorch. --check DIR also writes a deterministic tiny checkpoint plus its logits for
// torch_ref.py --check (cross-framework logits).
import * as tf from "@tensorflow/tfjs";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import {
  AdamW,
  BpeTokenizer,
  PRESETS,
  type PresetName,
  Rng,
  clipByGlobalNorm,
  cloneModel,
  countParams,
  createPolicy,
  disposeModel,
  forwardLogits,
  lmLoss,
  numParams,
  preferenceLoss,
  saveCheckpoint,
  selectBackend,
  sequenceLogpsFromTokens,
  tokenLogProbs,
  type GPTModel,
} from "../../trainer/index";

/** Batch per preset: B sequences of T tokens (DPO: B pairs, 2B sequences, completion = second half). */
export const BENCH_SHAPES: Record<PresetName, { B: number; T: number }> = {
  tiny: { B: 16, T: 128 },
  small: { B: 8, T: 256 },
  base: { B: 8, T: 512 },
};

const { values: args } = parseArgs({
  options: {
    backends: { type: "string" }, // default: every backend present (cpu only for tiny)
    presets: { type: "string", default: "tiny,small" },
    steps: { type: "string", default: "5" },
    warmup: { type: "string", default: "2" },
    out: { type: "string", default: "bench/results" },
    check: { type: "string" },
    "max-seconds": { type: "string", default: "240" }, // per backend x preset, skip the rest beyond it
  },
});

interface Row {
  backend: string;
  preset: string;
  params: number;
  B: number;
  T: number;
  step: "sft" | "dpo";
  msPerStep: number;
  tokensPerSecond: number;
  firstStepMs: number;
  tfMemoryMB: number;
  rssMB: number;
  detail?: string;
}

function randomIds(rng: Rng, n: number, V: number): Int32Array {
  return Int32Array.from({ length: n }, () => rng.int(V));
}

async function timeSteps(
  step: () => tf.Scalar,
  warmup: number,
  steps: number,
  budgetMs: number,
): Promise<{ ms: number; first: number; n: number }> {
  let first = 0;
  for (let i = 0; i < warmup; i++) {
    const t0 = performance.now();
    const l = step();
    await l.data(); // sync point
    l.dispose();
    if (i === 0) first = performance.now() - t0;
  }
  const t0 = performance.now();
  let n = 0;
  while (n < steps) {
    const l = step();
    await l.data(); // sync point: the step is done on the device
    l.dispose();
    n++;
    if (performance.now() - t0 > budgetMs) break;
  }
  return { ms: (performance.now() - t0) / n, first, n };
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

async function benchPreset(backend: string, preset: PresetName, detail: string): Promise<Row[]> {
  const cfg = PRESETS[preset];
  const { B, T } = BENCH_SHAPES[preset];
  const rng = new Rng(1234);
  const model = createPolicy(cfg, 0);
  const opt = new AdamW(model.params, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
  const steps = Number(args.steps);
  const warmup = Number(args.warmup);
  const budget = Number(args["max-seconds"]) * 1000;
  const rows: Row[] = [];
  const mem = () => ({
    tfMemoryMB: tf.memory().numBytes / 2 ** 20,
    rssMB: process.memoryUsage().rss / 2 ** 20,
  });

  // SFT: B x T tokens, loss on every target
  const ids = tf.tensor2d(randomIds(rng, B * T, cfg.vocabSize), [B, T], "int32");
  const tgt = tf.tensor2d(randomIds(rng, B * T, cfg.vocabSize), [B, T], "int32");
  const mask = tf.ones([B, T]) as tf.Tensor2D;
  const sft = await timeSteps(
    () => trainStep(model, opt, () => lmLoss(tokenLogProbs(model, ids, tgt), mask)),
    warmup,
    steps,
    budget / 2,
  );
  rows.push({
    backend,
    preset,
    params: numParams(model),
    B,
    T,
    step: "sft",
    msPerStep: sft.ms,
    tokensPerSecond: (B * T) / (sft.ms / 1000),
    firstStepMs: sft.first,
    ...mem(),
    detail,
  });
  console.error(`  ${backend}/${preset} sft: ${sft.ms.toFixed(1)} ms/step over ${sft.n} steps`);

  // DPO: B pairs = 2B sequences through the policy; reference log-probs precomputed (cached, as in training)
  const ref = cloneModel(model, { trainable: false });
  const ids2 = tf.tensor2d(randomIds(rng, 2 * B * T, cfg.vocabSize), [2 * B, T], "int32");
  const tgt2 = tf.tensor2d(randomIds(rng, 2 * B * T, cfg.vocabSize), [2 * B, T], "int32");
  const cm = new Float32Array(2 * B * T);
  for (let b = 0; b < 2 * B; b++) for (let t = T / 2; t < T; t++) cm[b * T + t] = 1;
  const mask2 = tf.tensor2d(cm, [2 * B, T]);
  const refLogps = tf.tidy(() => sequenceLogpsFromTokens(tokenLogProbs(ref, ids2, tgt2), mask2));
  disposeModel(ref);
  const refC = tf.slice(refLogps, [0], [B]) as tf.Tensor1D;
  const refR = tf.slice(refLogps, [B], [B]) as tf.Tensor1D;
  const lens = tf.fill([B], T / 2) as tf.Tensor1D;
  const dpo = await timeSteps(
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
    budget / 2,
  );
  rows.push({
    backend,
    preset,
    params: numParams(model),
    B,
    T,
    step: "dpo",
    msPerStep: dpo.ms,
    tokensPerSecond: (2 * B * T) / (dpo.ms / 1000),
    firstStepMs: dpo.first,
    ...mem(),
    detail,
  });
  console.error(`  ${backend}/${preset} dpo: ${dpo.ms.toFixed(1)} ms/step over ${dpo.n} steps`);
  tf.dispose([ids, tgt, mask, ids2, tgt2, mask2, refLogps, refC, refR, lens]);
  opt.dispose();
  disposeModel(model);
  return rows;
}

/** A deterministic tiny checkpoint + the logits tfjs computes for fixed ids, for torch_ref.py --check. */
async function writeCheck(dir: string, backend: string) {
  const tok = BpeTokenizer.bytesOnly();
  const model = createPolicy({ ...PRESETS.tiny, vocabSize: tok.vocabSize, contextLength: 64 }, 7);
  const ids = Array.from({ length: 2 * 32 }, (_, i) => (i * 37 + 11) % tok.vocabSize);
  const x = tf.tensor2d(ids, [2, 32], "int32");
  const logits = forwardLogits(model, x);
  const dirB = path.join(dir, `check-${backend}`);
  await saveCheckpoint(dirB, { model, tokenizer: tok, meta: { backend } });
  writeFileSync(
    path.join(dirB, "check.json"),
    JSON.stringify({ backend, shape: [2, 32], ids, logits: Array.from(await logits.data()) }),
  );
  tf.dispose([x, logits]);
  disposeModel(model);
}

function table(rows: Row[]): string {
  const lines = [
    "| backend | preset | params | B x T | step | ms/step | tokens/s | first step ms | tf MB | RSS MB |",
    "| --- | --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.backend} | ${r.preset} | ${(r.params / 1e6).toFixed(2)}M | ${r.B} x ${r.T} | ${r.step} | ${r.msPerStep.toFixed(1)} | ${Math.round(r.tokensPerSecond).toLocaleString("en-US")} | ${Math.round(r.firstStepMs)} | ${Math.round(r.tfMemoryMB)} | ${Math.round(r.rssMB)} |`,
    );
  }
  return lines.join("\n");
}

async function main() {
  const here = typeof __dirname === "string" ? __dirname : process.cwd();
  // bundled: the wasm binaries sit next to the bundle
  const wasmDir = existsSync(path.join(here, "tfjs-backend-wasm.wasm")) ? here : undefined;
  const presets = (args.presets ?? "tiny").split(",") as PresetName[];
  let backends = args.backends?.split(",");
  if (!backends) {
    backends = [];
    for (const b of ["node", "webgpu", "wasm", "cpu"]) {
      try {
        await selectBackend({ force: b, wasmDir, log: () => {} });
        backends.push(b);
      } catch {
        /* not present */
      }
    }
  }
  const rows: Row[] = [];
  for (const b of backends) {
    const info = await selectBackend({ force: b, wasmDir, log: (m) => console.error(m) });
    for (const p of presets) {
      if (info.name === "cpu" && p !== "tiny") continue; // pure JS: ~1 GFLOP/s, toy sizes only
      if (info.name === "wasm" && p === "base") continue;
      console.error(`bench ${info.name} ${p} (${(countParams(PRESETS[p]) / 1e6).toFixed(1)}M params)`);
      try {
        rows.push(...(await benchPreset(info.name, p, info.detail)));
      } catch (e) {
        console.error(`  failed: ${(e as Error).message}`);
      }
    }
    if (args.check) await writeCheck(args.check, info.name);
  }
  const md = table(rows);
  const stamp = new Date().toISOString();
  mkdirSync(args.out as string, { recursive: true });
  const meta = {
    date: stamp,
    host: os.hostname(),
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    node: process.version,
    tfjs: tf.version.tfjs,
  };
  writeFileSync(
    path.join(args.out as string, "trainer-bench.json"),
    JSON.stringify({ meta, shapes: BENCH_SHAPES, rows }, null, 2),
  );
  writeFileSync(
    path.join(args.out as string, "trainer-bench.md"),
    `# Trainer benchmark (${stamp}, ${meta.cpus} CPUs, ${meta.cpu})\n\n${md}\n`,
  );
  console.log(md);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
