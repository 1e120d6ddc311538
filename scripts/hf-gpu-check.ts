// Checkpoints Pairwise saves, checked by transformers (run on the GPU machine; see scripts/hf-verify.py).
//
//   npx tsx scripts/hf-gpu-check.ts --fixtures tests/fixtures/hf --out /tmp/hfcheck [--big DIR --big-steps 3]
//
// Trains (DPO, reward model, SFT: a few steps each) the llama and qwen2 fixtures and a Pairwise GPT
// with its own BPE tokenizer, saves every model with saveCheckpoint, and writes beside each saved
// folder's files pairwise-expected.json: the ids, logits / reward scores, token ids and rendered chat
// Pairwise computes. scripts/hf-verify.py then loads each folder with transformers alone and compares.
// --big DIR: a larger Hugging Face folder (e.g. a random-init Qwen2.5-0.5B made by
// scripts/hf-fixtures.py --qwen05b): the DPO step time on the active backend, then the same check.
import * as tf from "@tensorflow/tfjs";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  type BpeTokenizer,
  BpeTokenizer as Bpe,
  createPolicy,
  createRewardModel,
  disposeModel,
  type GPTModel,
  miniR1,
  saveCheckpoint,
  selectBackend,
  trainPreference,
  trainRewardModel,
  trainSFT,
} from "../trainer/index";
import { loadHfModel } from "../trainer/hf/model";
import { record } from "./hf-record";

const args = process.argv.slice(2);
const arg = (k: string) => {
  const i = args.indexOf(`--${k}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const fixtures = arg("fixtures") ?? "tests/fixtures/hf";
const out = arg("out") ?? "/tmp/hfcheck";
const big = arg("big");
const bigSteps = Number(arg("big-steps") ?? 3);
const skipSmall = args.includes("--skip-small");

const PAIRS = [
  { prompt: [{ role: "user" as const, content: "Name a colour." }], chosen: "Blue.", rejected: "No idea." },
  { prompt: [{ role: "user" as const, content: "2 + 3?" }], chosen: "5", rejected: "7" },
  { prompt: "The reward model", chosen: " prefers this", rejected: " hates that" },
  { prompt: "Say hi", chosen: " hi", rejected: " bye" },
];

async function trainAndSave(name: string, model: GPTModel, tok: BpeTokenizer, allRows: boolean) {
  const t0 = Date.now();
  const dpo = await trainPreference({
    method: "dpo",
    model,
    tokenizer: tok,
    data: PAIRS,
    beta: 0.1,
    config: { steps: 3, batchSize: 2, lr: 1e-3, warmupSteps: 0, evalFraction: 0, maxLength: 64 },
  });
  const policyDir = path.join(out, `${name}-policy`);
  await saveCheckpoint(policyDir, { model, tokenizer: tok, meta: { test: "hf-gpu-check" } });
  await record(policyDir, model, tok, allRows);
  const rm = createRewardModel(model, 7);
  await trainRewardModel({
    model: rm,
    tokenizer: tok,
    data: PAIRS,
    config: { steps: 2, batchSize: 2, lr: 1e-3, warmupSteps: 0, evalFraction: 0, maxLength: 64 },
  });
  const rmDir = path.join(out, `${name}-reward`);
  await saveCheckpoint(rmDir, { model: rm, tokenizer: tok });
  await record(rmDir, rm, tok, allRows);
  disposeModel(rm);
  console.log(`${name}: dpo loss ${dpo.history.at(-1)?.loss} saved in ${Date.now() - t0} ms`);
}

async function main() {
  mkdirSync(out, { recursive: true });
  const be = await selectBackend({ log: (m: string) => console.log(m) });
  console.log("backend", be.name);
  for (const name of skipSmall ? [] : ["llama", "qwen2"]) {
    const { model, tokenizer } = await loadHfModel(path.join(fixtures, name));
    await trainAndSave(name, model, tokenizer, true);
    disposeModel(model);
  }
  // Pairwise's own GPT and BPE
  if (!skipSmall) await pairwiseGpt();
  if (big) await bigModel(be.name);
}

async function pairwiseGpt() {
  const problems = miniR1.makeProblems(5, 300);
  const tok = Bpe.train([...miniR1.corpus(problems), "Hello world! café 🤗 def return"], 600);
  const gpt = createPolicy(
    { vocabSize: tok.vocabSize, contextLength: 128, nLayer: 2, nHead: 4, nEmbd: 64 },
    3,
  );
  await trainSFT({
    model: gpt,
    tokenizer: tok,
    data: miniR1.sftExamples(problems.slice(0, 40)),
    config: { steps: 3, batchSize: 4, lr: 1e-3, warmupSteps: 0, evalFraction: 0, maxLength: 96 },
  });
  await trainAndSave("pairwise-gpt", gpt, tok, true);
  disposeModel(gpt);
}

async function bigModel(backend: string) {
  if (big) {
    const t0 = Date.now();
    const { model, tokenizer, info } = await loadHfModel(big);
    console.log(
      `big: loaded ${JSON.stringify(info)} in ${Date.now() - t0} ms; tf.memory ${JSON.stringify(tf.memory())}`,
    );
    const times: number[] = [];
    let last = Date.now();
    const res = await trainPreference({
      method: "dpo",
      model,
      tokenizer,
      data: PAIRS,
      beta: 0.1,
      config: {
        steps: bigSteps,
        batchSize: 2,
        lr: 1e-5,
        warmupSteps: 0,
        evalFraction: 0,
        maxLength: 64,
        logEvery: 1,
      },
      onStep: (m) => {
        const now = Date.now();
        times.push(now - last);
        last = now;
        console.log(`big step ${m.step}: ${times.at(-1)} ms, loss ${m.loss}`);
      },
    });
    const saveT = Date.now();
    const dir = path.join(out, "qwen05b-policy");
    await saveCheckpoint(dir, { model, tokenizer });
    await record(dir, model, tokenizer, false);
    const summary = {
      info,
      steps: res.steps,
      step_ms: times,
      batch: "2 pairs (4 sequences), maxLength 64",
      save_ms: Date.now() - saveT,
      backend,
      numBytesInGPU: tf.memory().numBytes,
    };
    writeFileSync(path.join(out, "big-summary.json"), JSON.stringify(summary, null, 1));
    console.log("big summary", JSON.stringify(summary));
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
