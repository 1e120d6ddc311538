// GRPO against an independent float64 NumPy reference (fixtures/grpo_ref.py -> fixtures/grpo.json):
// group advantages for scale_rewards group/batch/none, TRL's reward metrics, and the loss for every
// loss_type with and without β and old log-probs, with its gradient; then the loop itself on a tiny
// model: reward functions combined with weights, metrics, truncation masking, and an exact resume.
import * as tf from "@tensorflow/tfjs";
import { readFileSync, promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  BpeTokenizer,
  combineRewards,
  correctnessReward,
  createPolicy,
  disposeModel,
  formatReward,
  groupAdvantages,
  grpoLoss,
  grpoPrompts,
  lengthPenalty,
  readMetrics,
  sampleGroup,
  selectBackend,
  sortingEnv,
  trainGRPO,
  type GrpoLossType,
  type GrpoRollout,
  type RewardInput,
  type ScaleRewards,
} from "../../../trainer/index";
import { envs } from "../../../trainer/index";

const fx = JSON.parse(readFileSync(path.join(import.meta.dirname, "fixtures", "grpo.json"), "utf8"));
const TOL = 1e-5;
function close(actual: number, expected: number, what: string) {
  const err = Math.abs(actual - expected);
  const tol = TOL * Math.max(1, Math.abs(expected));
  if (!(err <= tol)) throw new Error(`${what}: got ${actual}, expected ${expected} (|diff| ${err} > ${tol})`);
}

beforeAll(async () => {
  await selectBackend({ force: "cpu", log: () => {} });
});

describe("group advantages (TRL scale_rewards)", () => {
  for (const scale of ["group", "batch", "none"] as ScaleRewards[]) {
    it(`scale_rewards=${scale}`, () => {
      const r = groupAdvantages(fx.rewards, fx.numGenerations, scale);
      const exp = fx.advantages[scale];
      r.advantages.forEach((a, i) => close(a, exp.advantages[i], `advantage[${i}]`));
      for (const [k, v] of Object.entries(exp.metrics)) close(r.metrics[k] as number, v as number, k);
    });
  }
  it("a group with equal rewards has zero advantage and counts in frac_reward_zero_std", () => {
    const r = groupAdvantages([1, 1, 0, 1], 2, "group");
    expect(r.advantages.slice(0, 2)).toEqual([0, 0]);
    expect(r.metrics["frac_reward_zero_std"]).toBe(0.5);
    expect(() => groupAdvantages([1, 2, 3], 2)).toThrow(/groups/);
  });
});

describe("GRPO loss (TRL definitions) and its gradient", () => {
  const x = fx.inputs;
  for (const c of fx.losses) {
    const o = c.options;
    it(`${o.lossType} beta=${o.beta} ${c.withOld ? "old logps (num_iterations>1)" : "detached (num_iterations=1)"}`, async () => {
      const lp = tf.tensor2d(x.logps);
      const inputs = (logps: tf.Tensor2D) => ({
        logps,
        oldLogps: c.withOld ? tf.tensor2d(x.oldLogps) : undefined,
        refLogps: tf.tensor2d(x.refLogps),
        advantages: tf.tensor1d(x.advantages),
        mask: tf.tensor2d(x.mask),
      });
      const opts = {
        beta: o.beta,
        epsilon: o.epsilon,
        epsilonHigh: o.epsilonHigh,
        lossType: o.lossType as GrpoLossType,
        maxCompletionLength: o.maxCompletionLength,
        numItemsInBatch: o.numItemsInBatch,
      };
      const r = grpoLoss(inputs(lp), opts);
      close((await r.loss.data())[0] as number, c.loss, "loss");
      const m = await readMetrics(r.metrics);
      for (const [k, v] of Object.entries(c.metrics)) close(m[k] as number, v as number, k);
      if (o.beta === 0) expect(m["kl"]).toBeUndefined(); // skipped at β = 0, as TRL
      const g = tf.grad((t: tf.Tensor) => grpoLoss(inputs(t as tf.Tensor2D), opts).loss)(lp);
      const got = (await g.array()) as number[][];
      got.forEach((row, i) => row.forEach((v, j) => close(v, c.grad[i][j], `grad[${i}][${j}]`)));
    });
  }
  it("beta != 0 without reference log-probs is an error", () => {
    expect(() =>
      grpoLoss({ logps: tf.zeros([1, 2]), advantages: tf.zeros([1]), mask: tf.ones([1, 2]) }, { beta: 0.1 }),
    ).toThrow(/refLogps/);
  });
});

describe("reward functions", () => {
  const base: RewardInput = { prompt: "p", completion: "", completionTokens: 5, truncated: false };
  it("combines weighted functions, leaving out nulls (TRL nansum)", async () => {
    const xs: RewardInput[] = [
      {
        ...base,
        completion: "<think>a</think>The answer is 1.",
        check: { score: 1, correct: true, formatOk: true },
      },
      { ...base, completion: "The answer is 2.", check: { score: 0, correct: false, formatOk: false } },
      { ...base, completion: "x", completionTokens: 30, truncated: true },
    ];
    const r = await combineRewards(
      [
        { ...correctnessReward(), weight: 1 },
        { ...formatReward(), weight: 0.5 },
        { ...lengthPenalty({ free: 10, max: 20 }), weight: 0.1 },
      ],
      xs,
    );
    expect(r.perFunc["correctness"]?.[2]).toBeNaN(); // no checker: None
    expect(r.total[0]).toBeCloseTo(1 + 0.5, 12);
    expect(r.total[1]).toBeCloseTo(0, 12);
    expect(r.total[2]).toBeCloseTo(0 * 0.5 - 0.1, 12); // format 0 (no think), length -1
    const lp = lengthPenalty({ free: 10, max: 20 }).fn as (x: RewardInput) => number;
    expect(lp({ ...base, completionTokens: 15 })).toBeCloseTo(-0.5, 12);
    expect(lp({ ...base, completionTokens: 8 })).toBe(0);
  });
});

describe("trainGRPO on a tiny model", () => {
  const problems = sortingEnv.problems({ split: "train", n: 6, seed: 3 });
  const tok = BpeTokenizer.train(
    problems.flatMap((p) => [sortingEnv.prompt(p)[0]?.content as string, sortingEnv.target(p)]),
    300,
  );
  const cfg = { vocabSize: tok.vocabSize, contextLength: 64, nLayer: 1, nHead: 2, nEmbd: 16 };
  const prompts = grpoPrompts(sortingEnv, problems);
  const common = {
    tokenizer: tok,
    prompts,
    rewards: [
      correctnessReward(),
      { ...formatReward(), weight: 0.2 },
      { name: "len", fn: (x: RewardInput) => x.completionTokens / 10 },
    ],
    numGenerations: 3,
    promptsPerStep: 2,
    maxCompletionLength: 6,
    beta: 0.04,
    numIterations: 2,
    epsilonHigh: 0.28,
  };

  it("samples a group reproducibly from its seeds", async () => {
    const model = createPolicy(cfg, 1);
    const a = await sampleGroup(model, tok, sortingEnv.prompt(problems[0]!), {
      seeds: [1, 2, 3],
      maxTokens: 5,
    });
    const b = await sampleGroup(model, tok, sortingEnv.prompt(problems[0]!), {
      seeds: [1, 2, 3],
      maxTokens: 5,
    });
    expect(a.samples.map((s) => s.tokens)).toEqual(b.samples.map((s) => s.tokens));
    expect(a.samples.every((s) => s.tokens.length <= 5)).toBe(true);
    disposeModel(model);
  });

  it("logs TRL's metrics, stores rollouts, masks truncated completions, and resumes exactly", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "pw-grpo-"));
    // straight run: 4 optimizer steps (2 generation batches x μ=2)
    const m1 = createPolicy(cfg, 7);
    const rollouts: GrpoRollout[] = [];
    const straight = await trainGRPO({
      ...common,
      model: m1,
      config: { lr: 1e-2, steps: 4, seed: 5 },
      onRollouts: (r) => void rollouts.push(...r),
    });
    expect(straight.steps).toBe(4);
    const h = straight.history[0]!;
    for (const k of [
      "loss",
      "reward",
      "reward_std",
      "frac_reward_zero_std",
      "kl",
      "clip_ratio/region_mean",
      "clip_ratio/low_mean",
      "clip_ratio/high_mean",
      "completions/mean_length",
      "completions/clipped_ratio",
      "rewards/correctness/mean",
      "rewards/len/mean",
      "accuracy",
    ])
      expect(Number.isFinite(h[k]), k).toBe(true);
    expect(rollouts.length).toBe(2 * 2 * 3); // 2 generations x 2 prompts x G=3
    // the logged reward is the mean of the rollouts' rewards of that generation
    const firstGen = rollouts.filter((r) => r.step === 0);
    close(h["reward"] as number, firstGen.reduce((s, r) => s + r.reward, 0) / firstGen.length, "reward");
    // group advantages sum to ~0 per group
    for (let g = 0; g < firstGen.length; g += 3)
      expect(Math.abs(firstGen.slice(g, g + 3).reduce((s, r) => s + r.advantage, 0))).toBeLessThan(1e-6);
    // μ = 2: the second step of a generation batch trains on the same rollouts, whose policy moved
    expect(straight.history[1]!["reward"]).toBe(h["reward"]);

    // interrupted after step 3 (inside the second generation batch), then resumed
    const m2 = createPolicy(cfg, 7);
    let stopAt3 = false;
    await trainGRPO({
      ...common,
      model: m2,
      config: { lr: 1e-2, steps: 4, seed: 5, checkpointDir: dir, checkpointEvery: 1 },
      onStep: (m) => void (stopAt3 = m.step >= 3),
      shouldStop: () => stopAt3,
    });
    disposeModel(m2);
    const m3 = createPolicy(cfg, 99); // other weights: the checkpoint's must win
    const resumed = await trainGRPO({
      ...common,
      model: m3,
      reference: createPolicy(cfg, 7), // the reference: the initial weights
      config: { lr: 1e-2, steps: 4, seed: 5, checkpointDir: dir, checkpointEvery: 1, resumeFrom: dir },
    });
    expect(resumed.steps).toBe(4);
    expect(resumed.history.map((x) => x.step)).toEqual([4]);
    close(resumed.history[0]!.loss, straight.history[3]!.loss, "loss after resume");
    for (const [name, v] of m1.params) {
      const a = (await v.data()) as Float32Array;
      const b = (await m3.params.get(name)!.data()) as Float32Array;
      let d = 0;
      for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
      expect(d, name).toBeLessThan(1e-5);
    }
    disposeModel(m1);
    disposeModel(m3);
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("mask_truncated_completions takes cut completions out of the loss", async () => {
    const model = createPolicy(cfg, 11);
    const res = await trainGRPO({
      ...common,
      model,
      beta: 0,
      numIterations: 1,
      maxCompletionLength: 2, // every completion is cut
      maskTruncatedCompletions: true,
      config: { lr: 1e-2, steps: 1, seed: 1 },
    });
    const m = res.history[0]!;
    expect(m["completions/clipped_ratio"]).toBe(1);
    expect(m.loss).toBe(0);
    expect(m.grad_norm).toBe(0);
    disposeModel(model);
  });
});

it("the env registry names four environments", () => {
  expect(Object.keys(envs.ENVIRONMENTS).sort()).toEqual(["code", "miniR1", "sorting", "tictactoe"]);
});
