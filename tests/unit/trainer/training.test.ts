// Training loops: DPO on a toy preference set, exact resume, no tensor leaks, reward model, KTO,
// every preference method runs.
import * as tf from "@tensorflow/tfjs";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BpeTokenizer,
  type PreferencePair,
  type SftExample,
  RefLogpCache,
  type StepMetrics,
  cloneModel,
  createPolicy,
  createRewardModel,
  disposeModel,
  scoreRewards,
  selectBackend,
  trainPreference,
  trainRewardModel,
  trainSFT,
} from "../../../trainer/index";

const tok = BpeTokenizer.bytesOnly();
const MICRO = { vocabSize: tok.vocabSize, contextLength: 48, nLayer: 2, nHead: 2, nEmbd: 16 };
const tmp = mkdtempSync(path.join(tmpdir(), "pairwise-trainer-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const toyPairs: PreferencePair[] = [
  { prompt: "2+2=", chosen: "4", rejected: "5" },
  { prompt: "1+2=", chosen: "3", rejected: "7" },
  { prompt: "3+3=", chosen: "6", rejected: "9" },
  { prompt: "2+5=", chosen: "7", rejected: "1" },
  { prompt: "Is it ok?", chosen: "yes", rejected: "no" },
  { prompt: "Say hi", chosen: "hi", rejected: "bye" },
];

beforeAll(async () => {
  await selectBackend({ force: "cpu", log: () => {} });
});

describe("preference optimisation", () => {
  it("DPO raises rewards/accuracies and the margin while the reference stays fixed", async () => {
    const policy = createPolicy(MICRO, 1);
    const reference = cloneModel(policy, { trainable: false });
    const refBefore = [...reference.params.values()].map((v) => v.dataSync().slice());
    const cache = new RefLogpCache();
    const res = await trainPreference({
      method: "dpo",
      model: policy,
      reference,
      referenceId: "toy-ref",
      refCache: cache,
      tokenizer: tok,
      data: toyPairs,
      beta: 0.5,
      config: { lr: 1e-2, steps: 25, batchSize: 6, seed: 3 },
    });
    const first = res.history[0]!;
    const last = res.history[res.history.length - 1]!;
    // at step 1 the policy equals the reference: all rewards 0, accuracy 0 (strictly greater)
    expect(first["rewards/accuracies"]).toBe(0);
    expect(Math.abs(first["rewards/margins"]!)).toBeLessThan(1e-6);
    expect(last["rewards/accuracies"]).toBe(1);
    expect(last["rewards/margins"]!).toBeGreaterThan(1);
    expect(last.loss).toBeLessThan(first.loss);
    [...reference.params.values()].forEach((v, i) => expect(v.dataSync()).toEqual(refBefore[i]));
    expect(cache.size).toBe(toyPairs.length);
    // a cached reference is reused: a second run with the same cache does no reference passes
    const json = JSON.parse(JSON.stringify(cache.toJSON()));
    expect(
      RefLogpCache.fromJSON(json).get("toy-ref", Object.keys(json.entries["toy-ref"])[0]!),
    ).toBeDefined();
    disposeModel(policy);
    disposeModel(reference);
  });

  it("runs every method and reports TRL metric names", async () => {
    const unpaired = toyPairs.flatMap((p) => [
      { prompt: p.prompt, completion: p.chosen, label: true },
      { prompt: p.prompt, completion: p.rejected, label: false },
    ]);
    for (const method of [
      "dpo",
      "ipo",
      "cdpo",
      "robust",
      "hinge",
      "cpo",
      "simpo",
      "orpo",
      "rpo",
      "kto",
    ] as const) {
      const policy = createPolicy(MICRO, 2);
      const res = await trainPreference({
        method,
        model: policy,
        tokenizer: tok,
        data: method === "kto" ? unpaired : toyPairs,
        labelSmoothing: method === "cdpo" || method === "robust" ? 0.1 : undefined,
        config: { lr: 5e-3, steps: 2, batchSize: 4 },
      });
      const m = res.history[res.history.length - 1]!;
      for (const k of [
        "loss",
        "rewards/chosen",
        "rewards/rejected",
        "rewards/margins",
        "logps/chosen",
        "logps/rejected",
      ]) {
        expect(Number.isFinite(m[k]), `${method} ${k}`).toBe(true);
      }
      if (method !== "kto") expect(m["rewards/accuracies"]).toBeDefined();
      if (method === "kto") expect(m["kl"]).toBeDefined();
      if (method === "orpo") expect(m["log_odds_ratio"]).toBeDefined();
      if (method === "rpo") expect(Number.isFinite(m["nll_loss"])).toBe(true);
      disposeModel(policy);
    }
  });
});

describe("reward model training", () => {
  it("learns to rank chosen over rejected (margin column + centering)", async () => {
    const rm = createRewardModel(MICRO, 4);
    const data = toyPairs.map((p, i) => ({ ...p, margin: i % 2 ? 0.5 : 0 }));
    const res = await trainRewardModel({
      model: rm,
      tokenizer: tok,
      data,
      centerRewardsCoefficient: 0.01,
      config: { lr: 1e-2, steps: 30, batchSize: 6 },
    });
    const last = res.history[res.history.length - 1]!;
    for (const k of ["accuracy", "margin", "min_reward", "mean_reward", "max_reward"])
      expect(last[k]).toBeDefined();
    expect(last["accuracy"]).toBe(1);
    const scores = await scoreRewards(
      rm,
      tok,
      toyPairs.flatMap((p) => [
        { prompt: p.prompt, completion: p.chosen },
        { prompt: p.prompt, completion: p.rejected },
      ]),
    );
    for (let i = 0; i < scores.length; i += 2) expect(scores[i]!).toBeGreaterThan(scores[i + 1]!);
    disposeModel(rm);
  });
});

describe("loop mechanics", () => {
  // short examples of every SFT kind: prompt/completion, chat, raw text
  const sftData: SftExample[] = [
    ...toyPairs.map((p) => ({ prompt: p.prompt as string, completion: p.chosen as string })),
    ...toyPairs.map((p) => ({
      messages: [
        { role: "user" as const, content: p.prompt as string },
        { role: "assistant" as const, content: p.chosen as string },
      ],
    })),
    "a short text",
    "another one",
    { text: "1 2 3 4" },
    "<think>4</think>",
  ];

  it("keeps the tensor count the same after step 10 as after step 2", async () => {
    const model = createPolicy(MICRO, 5);
    const counts = new Map<number, number>();
    await trainSFT({
      model,
      tokenizer: tok,
      data: sftData,
      config: { lr: 1e-3, steps: 10, batchSize: 4, gradAccumulation: 2 },
      onStep: (m) => void counts.set(m.step, tf.memory().numTensors),
    });
    expect(counts.get(10)).toBe(counts.get(2));
    // the DPO loop too (reference cache, metric tensors)
    const dpoCounts = new Map<number, number>();
    await trainPreference({
      method: "dpo",
      model,
      tokenizer: tok,
      data: toyPairs,
      config: { steps: 10, batchSize: 3 },
      onStep: (m) => void dpoCounts.set(m.step, tf.memory().numTensors),
    });
    expect(dpoCounts.get(10)).toBe(dpoCounts.get(2));
    disposeModel(model);
  });

  it("resumes exactly: same losses as an uninterrupted run", async () => {
    const cfg = {
      lr: 3e-3,
      steps: 8,
      batchSize: 3,
      gradAccumulation: 2,
      warmupSteps: 2,
      weightDecay: 0.1,
      seed: 9,
      evalFraction: 0.2,
    };
    const full: StepMetrics[] = [];
    const m1 = createPolicy(MICRO, 6);
    await trainSFT({
      model: m1,
      tokenizer: tok,
      data: sftData,
      config: cfg,
      onStep: (m) => void full.push(m),
    });
    disposeModel(m1);

    const dir = path.join(tmp, "resume-sft");
    const m2 = createPolicy(MICRO, 6);
    let done = 0;
    const partial = await trainSFT({
      model: m2,
      tokenizer: tok,
      data: sftData,
      config: { ...cfg, checkpointDir: dir, checkpointEvery: 2 },
      onStep: () => void done++,
      shouldStop: () => done >= 5, // "killed" after step 5; the last checkpoint is at step 5 (on stop)
    });
    expect(partial.stoppedBy).toBe("shouldStop");
    disposeModel(m2);

    const m3 = createPolicy(MICRO, 123); // different init: the weights must come from the checkpoint
    const resumed: StepMetrics[] = [];
    const r = await trainSFT({
      model: m3,
      tokenizer: tok,
      data: sftData,
      config: { ...cfg, resumeFrom: dir },
      onStep: (m) => void resumed.push(m),
    });
    expect(r.steps).toBe(8);
    expect(resumed.map((m) => m.step)).toEqual([6, 7, 8]);
    for (const m of resumed) {
      const ref = full.find((f) => f.step === m.step)!;
      expect(Math.abs(m.loss - ref.loss)).toBeLessThan(1e-6);
      expect(Math.abs(m.grad_norm - ref.grad_norm)).toBeLessThan(1e-5);
    }
    disposeModel(m3);
  });

  it("resumes a DPO run exactly, reusing the checkpointed reference log-probs", async () => {
    const cfg = { lr: 5e-3, steps: 6, batchSize: 2, seed: 1 };
    const start = createPolicy(MICRO, 8);
    const run = async (extra: object, stopAfter?: number) => {
      const model = cloneModel(start);
      const hist: StepMetrics[] = [];
      await trainPreference({
        method: "dpo",
        model,
        reference: cloneModel(start, { trainable: false }),
        referenceId: "start",
        tokenizer: tok,
        data: toyPairs,
        config: { ...cfg, ...extra },
        onStep: (m) => void hist.push(m),
        shouldStop: stopAfter ? () => hist.length >= stopAfter : undefined,
      });
      disposeModel(model);
      return hist;
    };
    const full = await run({});
    const dir = path.join(tmp, "resume-dpo");
    await run({ checkpointDir: dir, checkpointEvery: 3 }, 3);
    const resumed = await run({ resumeFrom: dir });
    expect(resumed.map((m) => m.step)).toEqual([4, 5, 6]);
    for (const m of resumed)
      expect(Math.abs(m.loss - full.find((f) => f.step === m.step)!.loss)).toBeLessThan(1e-6);
    disposeModel(start);
  });

  it("evaluates on a held-out split and stops early when eval loss stalls", async () => {
    const model = createPolicy(MICRO, 7);
    const evals: Record<string, number>[] = [];
    const res = await trainSFT({
      model,
      tokenizer: tok,
      data: sftData,
      config: {
        lr: 0,
        minLrRatio: 0,
        steps: 50,
        batchSize: 4,
        evalFraction: 0.25,
        evalEvery: 2,
        earlyStoppingPatience: 2,
      },
      onEval: (m) => void evals.push(m),
    });
    expect(res.stoppedBy).toBe("earlyStopping"); // lr 0: eval loss never improves after the first eval
    expect(res.steps).toBe(6);
    expect(evals[0]!["eval_loss"]).toBeGreaterThan(0);
    disposeModel(model);
  });
});
