// A whole training round (the same code the trainer service runs: snapshot, SFT bootstrap, reward
// model, DPO policy, evaluation, gate, generation) on a Hugging Face base folder, with its own
// database: an in-memory embedded PostgreSQL (PGlite), migrated by the app's runner. Made for the
// GPU machine, which has no PostgreSQL; scripts/hf-verify.py then loads the round's policy and
// reward model with transformers alone and compares logits / scores (bench/hf/README.md).
//
//   node hf-gpu-round.cjs --base /tmp/q05 --out /tmp/round [--steps 4] [--batch 4] [--migrations DIR]
//
// Writes OUT/checkpoints/... (the round's folders), OUT/verify/{policy,reward} (links to them, each
// with pairwise-expected.json) and OUT/round-summary.json (stage seconds, step times, backend).
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { disposeModel, loadCheckpoint, selectBackend } from "../trainer/index";
import { startEmbeddedDatabase } from "../server/db/embedded";
import { migrate } from "../server/db/migrate";
import { createPrisma, setDbForTests } from "../server/db/client";
import { resetEnvForTests } from "../server/env";
import { executeRound } from "../server/training/engine";
import { getRoundOrThrow, listCheckpoints, requestRound } from "../server/training/rounds";
import { makeTrainingProject, seedPairs } from "../tests/integration/training/fixtures";
import { record } from "./hf-record";

const args = process.argv.slice(2);
const arg = (k: string) => {
  const i = args.indexOf(`--${k}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const base = path.resolve(arg("base") ?? "tests/fixtures/hf/qwen2");
const out = path.resolve(arg("out") ?? "/tmp/hf-round");
const steps = Number(arg("steps") ?? 4);
const batch = Number(arg("batch") ?? 4);
// bench/hf/bundle.sh ships the migrations that match the bundled Prisma client
const migrations = path.resolve(arg("migrations") ?? "prisma/migrations");

async function main() {
  mkdirSync(out, { recursive: true });
  const be = await selectBackend({ log: (m: string) => console.log(m) });
  const root = path.join(out, "checkpoints");
  mkdirSync(root, { recursive: true });
  process.env.PAIRWISE_CHECKPOINT_DIR = root;
  resetEnvForTests();
  const embedded = await startEmbeddedDatabase({ dataDir: null, port: 0 });
  await migrate(embedded.url, { dir: migrations });
  const prisma = createPrisma(embedded.url, { max: 5 });
  setDbForTests(prisma);
  process.env.DATABASE_URL = embedded.url;

  const project = await makeTrainingProject({
    model: { basePath: base },
    bootstrap: { steps, batchSize: batch, lr: 1e-5, warmupSteps: 0 },
    reward: { steps, batchSize: batch, lr: 1e-5 },
    policy: { steps, epochs: null, batchSize: batch, lr: 1e-6 },
    evaluation: { prompts: 4, maxTokens: 12, klSamples: 2 },
    generation: { prompts: 4, samplesPerPrompt: 2, maxTokens: 12 },
    checkpointEvery: 1000, // no resumable mid-stage checkpoints (2 GB each at 0.5B)
  });
  await seedPairs(project.id, 16);
  const { round } = await requestRound({ projectId: project.id, trigger: "manual" });
  const stepTimes: Record<string, number[]> = {};
  let last = performance.now();
  let lastKey = "";
  const t0 = performance.now();
  const result = await executeRound(round.id, {
    log: (m) => console.log(`[round] ${m}`),
    onStep: (stage, step) => {
      const now = performance.now();
      const key = `${stage}:${step}`;
      if (step > 0 && key !== lastKey) {
        (stepTimes[stage] ??= []).push(Math.round(now - last));
        console.log(`[step] ${stage} ${step}: ${Math.round(now - last)} ms`);
      }
      if (key !== lastKey) last = now;
      lastKey = key;
    },
  });
  const wall = (performance.now() - t0) / 1000;
  const done = await getRoundOrThrow(round.id);
  console.log(`round ${done.number}: ${result} in ${wall.toFixed(1)} s ${done.error ?? ""}`);
  const verify = path.join(out, "verify");
  mkdirSync(verify, { recursive: true });
  const cks = await listCheckpoints(project.id);
  for (const c of cks.filter((c) => c.kind !== "sft")) {
    const dir = path.join(root, c.path);
    const ck = await loadCheckpoint(dir);
    await record(dir, ck.model, ck.tokenizer, false);
    disposeModel(ck.model);
    symlinkSync(dir, path.join(verify, c.kind));
  }
  const summary = {
    backend: be.name,
    base,
    result,
    error: done.error,
    wallSeconds: Math.round(wall),
    stageSeconds: done.result.seconds,
    stepMs: stepTimes,
    batch: `${batch} sequences (SFT) / ${batch} pairs (reward, DPO), ${steps} steps each`,
    model: (done.result.bootstrap as Record<string, unknown> | undefined)?.["model"],
    policy: done.result.policy,
    checkpoints: cks.map((c) => ({ kind: c.kind, path: c.path })),
  };
  writeFileSync(path.join(out, "round-summary.json"), JSON.stringify(summary, null, 1));
  console.log("summary", JSON.stringify(summary));
  await prisma.$disconnect();
  await embedded.stop();
  process.exit(result === "succeeded" ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
