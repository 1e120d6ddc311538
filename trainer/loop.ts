// The one training loop every method shares: seeded data order, gradient accumulation, global-norm
// clipping, AdamW with warmup + cosine, eval split with early stopping, cancellation, checkpoints
// that resume exactly. Each step runs inside tidy scopes (tf.variableGrads, AdamW.apply); the only
// tensors that outlive a step are the model's and the optimizer's variables.
import * as tf from "@tensorflow/tfjs";
import { createHash } from "node:crypto";
import { activeBackend, selectBackend } from "./backend";
import { type TrainConfig, type TrainConfigInput, parseTrainConfig } from "./config";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint";
import type { Metrics } from "./losses";
import type { GPTModel } from "./model";
import { AdamW, clipByGlobalNorm, learningRate } from "./optim";
import { permutation, mixSeed } from "./rng";
import type { BpeTokenizer } from "./tokenizer";

/** Numbers reported after a step (TRL names for method metrics) or an evaluation (prefixed "eval_"). */
export type StepMetrics = Record<string, number> & {
  step: number;
  loss: number;
  learning_rate: number;
  grad_norm: number;
  epoch: number;
  tokens: number;
  tokens_per_second: number;
};

export type LoopName = "sft" | "reward" | "preference";

/** Callbacks and options every loop accepts. */
export interface LoopHooks {
  /** Called every `logEvery` steps with the metrics of the last step. */
  onStep?: (m: StepMetrics) => void | Promise<void>;
  /** Called after each evaluation with eval_* metrics. */
  onEval?: (m: Record<string, number>) => void | Promise<void>;
  /** Polled before each step; return true to stop (cancel / external early stop). */
  shouldStop?: () => boolean | Promise<boolean>;
  /** Progress/log lines (default: none). */
  log?: (msg: string) => void;
}

export interface TrainResult {
  /** Optimizer steps done in total (including those before a resume). */
  steps: number;
  totalSteps: number;
  stoppedBy: "completed" | "shouldStop" | "earlyStopping";
  /** Metrics reported through onStep during this run. */
  history: StepMetrics[];
  evalHistory: Record<string, number>[];
  /** The last eval metrics, if any evaluation ran. */
  finalEval?: Record<string, number>;
  backend: string;
  /** Where the final checkpoint was written, if checkpointDir was set. */
  checkpointDir?: string;
}

/** An example after tokenization: loops give the loop items plus a token count and a fingerprint. */
export interface LoopItem {
  tokens: number;
  fingerprint: Int32Array | string;
}

export interface LoopSpec<I extends LoopItem> extends LoopHooks {
  loop: LoopName;
  model: GPTModel;
  tokenizer: BpeTokenizer;
  items: I[];
  config: TrainConfigInput;
  /** Loss of a micro-batch (runs under the gradient tape): a scalar plus TRL-named metric scalars. */
  batchLoss: (batch: I[]) => { loss: tf.Scalar; metrics: Metrics };
  /** Called once the eval split is known, before training (e.g. to fill the reference cache). */
  prepare?: (train: I[], evalItems: I[]) => Promise<void>;
  /** Extra JSON stored in trainer_state.json with each checkpoint (e.g. the reference cache). */
  extraState?: () => Record<string, unknown>;
  /** Extra provenance for config.json. */
  meta?: Record<string, unknown>;
}

/** Splits indices 0..n-1 into train/eval with a seeded permutation. */
export function splitIndices(
  n: number,
  evalFraction: number,
  seed: number,
): { train: number[]; eval: number[] } {
  const perm = permutation(n, seed, 0x5eed);
  const nEval = evalFraction > 0 ? Math.max(1, Math.floor(n * evalFraction)) : 0;
  if (n - nEval < 1) throw new Error(`not enough examples (${n}) for an eval split of ${evalFraction}`);
  return { eval: perm.slice(0, nEval).sort((a, b) => a - b), train: perm.slice(nEval).sort((a, b) => a - b) };
}

/** Indices of micro-batch k: the stream of per-epoch permutations (seed, epoch), cut into batches. */
export function microBatchIndices(k: number, nTrain: number, batchSize: number, seed: number): number[] {
  const out: number[] = [];
  let cachedEpoch = -1;
  let perm: number[] = [];
  for (let p = k * batchSize; p < (k + 1) * batchSize; p++) {
    const epoch = Math.floor(p / nTrain);
    if (epoch !== cachedEpoch) {
      perm = permutation(nTrain, mixSeed(seed, epoch), 1);
      cachedEpoch = epoch;
    }
    out.push(perm[p % nTrain] as number);
  }
  return out;
}

function fingerprintOf(items: readonly LoopItem[]): string {
  const h = createHash("sha256");
  for (const it of items) {
    if (typeof it.fingerprint === "string") h.update(it.fingerprint);
    else h.update(Buffer.from(it.fingerprint.buffer, it.fingerprint.byteOffset, it.fingerprint.byteLength));
    h.update("|");
  }
  return h.digest("hex").slice(0, 32);
}

async function evaluate<I extends LoopItem>(
  spec: LoopSpec<I>,
  evalItems: I[],
  cfg: TrainConfig,
): Promise<Record<string, number>> {
  const sums: Record<string, number> = {};
  let n = 0;
  for (let i = 0; i < evalItems.length; i += cfg.batchSize) {
    const batch = evalItems.slice(i, i + cfg.batchSize);
    const { loss, metrics } = tf.tidy(() => {
      const r = spec.batchLoss(batch);
      return { loss: r.loss, metrics: r.metrics };
    });
    const all: Metrics = { loss, ...metrics };
    const names = Object.keys(all);
    const vals = await Promise.all(names.map((k) => (all[k] as tf.Scalar).data())); // sync point
    names.forEach(
      (k, j) => (sums[k] = (sums[k] ?? 0) + ((vals[j] as ArrayLike<number>)[0] as number) * batch.length),
    );
    tf.dispose(Object.values(all));
    n += batch.length;
  }
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(sums)) out[`eval_${k}`] = v / n;
  return out;
}

/** Runs the loop described by `spec`. */
export async function runTraining<I extends LoopItem>(spec: LoopSpec<I>): Promise<TrainResult> {
  const cfg = parseTrainConfig(spec.config);
  const backend = (activeBackend() ?? (await selectBackend({ log: spec.log }))).name;
  const log = spec.log ?? (() => {});
  const { model } = spec;
  if (spec.items.length === 0) throw new Error(`${spec.loop}: no training data`);
  const split = splitIndices(spec.items.length, cfg.evalFraction, cfg.seed);
  const train = split.train.map((i) => spec.items[i] as I);
  const evalItems = split.eval.map((i) => spec.items[i] as I);
  const micro = cfg.batchSize;
  const perStep = micro * cfg.gradAccumulation;
  const totalSteps = cfg.steps ?? Math.max(1, Math.ceil((cfg.epochs * train.length) / perStep));
  const fingerprint = fingerprintOf(spec.items);
  const varList = [...model.params.values()];
  const nameOf = new Map(
    varList.map((v) => [v.name, [...model.params].find(([, x]) => x === v)?.[0] as string]),
  );
  const opt = new AdamW(model.params, {
    beta1: cfg.beta1,
    beta2: cfg.beta2,
    eps: cfg.eps,
    weightDecay: cfg.weightDecay,
  });

  let startStep = 0;
  let bestEval = Infinity;
  let evalsWithoutImprovement = 0;
  if (cfg.resumeFrom) {
    const ck = await loadCheckpoint(cfg.resumeFrom, { withOptimizer: true });
    try {
      const st = ck.trainerState as Record<string, unknown> | undefined;
      if (!st || st["loop"] !== spec.loop) {
        throw new Error(
          `resumeFrom ${cfg.resumeFrom}: trainer_state.json is from loop "${String(st?.["loop"])}", not "${spec.loop}".`,
        );
      }
      if (st["dataFingerprint"] !== fingerprint || st["seed"] !== cfg.seed || st["batchSize"] !== micro) {
        throw new Error(
          `resumeFrom ${cfg.resumeFrom}: the checkpoint was written for different data, seed or batch size; ` +
            `resume with the same data and config, or start a new run initialised from the checkpoint's weights.`,
        );
      }
      for (const [name, v] of model.params) {
        const src = ck.model.params.get(name);
        if (!src || src.shape.join(",") !== v.shape.join(",")) {
          throw new Error(
            `resumeFrom ${cfg.resumeFrom}: parameter ${name} does not match the model being trained`,
          );
        }
        v.assign(src);
      }
      opt.loadState(ck.optimizer?.tensors ?? new Map(), ck.optimizer?.t ?? 0);
      startStep = Number(st["step"]);
      bestEval = Number(st["bestEvalLoss"] ?? Infinity);
      evalsWithoutImprovement = Number(st["evalsWithoutImprovement"] ?? 0);
      log(`[${spec.loop}] resumed from ${cfg.resumeFrom} at step ${startStep}/${totalSteps}`);
    } finally {
      for (const v of ck.model.params.values()) v.dispose();
      if (ck.optimizer) tf.dispose([...ck.optimizer.tensors.values()]);
    }
  }
  if (spec.prepare) await spec.prepare(train, evalItems);

  const saveTo = async (dir: string, step: number) => {
    await saveCheckpoint(dir, {
      model,
      tokenizer: spec.tokenizer,
      optimizer: opt,
      meta: { backend, loop: spec.loop, step, ...spec.meta },
      trainerState: {
        loop: spec.loop,
        step,
        totalSteps,
        microBatchesConsumed: step * cfg.gradAccumulation, // the data position
        seed: cfg.seed,
        batchSize: micro,
        nTrain: train.length,
        nEval: evalItems.length,
        dataFingerprint: fingerprint,
        bestEvalLoss: Number.isFinite(bestEval) ? bestEval : null,
        evalsWithoutImprovement,
        backend,
        config: cfg,
        savedAt: new Date().toISOString(),
        ...(spec.extraState ? spec.extraState() : {}),
      },
    });
  };

  const history: StepMetrics[] = [];
  const evalHistory: Record<string, number>[] = [];
  let stoppedBy: TrainResult["stoppedBy"] = "completed";
  let step = startStep;
  let tokensSinceLog = 0;
  let tLog = performance.now();
  const runEval = async () => {
    if (!evalItems.length) return;
    const em = await evaluate(spec, evalItems, cfg);
    em["step"] = step;
    evalHistory.push(em);
    await spec.onEval?.(em);
    log(`[${spec.loop}] eval @${step}: loss ${em["eval_loss"]?.toFixed(4)}`);
    const l = em["eval_loss"] as number;
    if (l < bestEval - 1e-6) {
      bestEval = l;
      evalsWithoutImprovement = 0;
    } else evalsWithoutImprovement++;
  };

  try {
    while (step < totalSteps) {
      if (spec.shouldStop && (await spec.shouldStop())) {
        stoppedBy = "shouldStop";
        break;
      }
      const lr = learningRate(step, {
        lr: cfg.lr,
        warmupSteps: cfg.warmupSteps,
        totalSteps,
        minLrRatio: cfg.minLrRatio,
      });
      let acc: Map<string, tf.Tensor> | null = null;
      let metricAcc: Metrics | null = null;
      let stepTokens = 0;
      for (let j = 0; j < cfg.gradAccumulation; j++) {
        const k = step * cfg.gradAccumulation + j; // micro-batch index = data position
        const batch = microBatchIndices(k, train.length, micro, cfg.seed).map((i) => train[i] as I);
        for (const it of batch) stepTokens += it.tokens;
        let kept: Metrics = {};
        const { value, grads } = tf.variableGrads(() => {
          const r = spec.batchLoss(batch);
          kept = Object.fromEntries(Object.entries(r.metrics).map(([n, t]) => [n, tf.keep(t)]));
          return r.loss;
        }, varList);
        const prevAcc: Map<string, tf.Tensor> | null = acc;
        const prevMetrics: Metrics | null = metricAcc;
        const cur: Metrics = { loss: value, ...kept };
        acc = new Map();
        for (const [vn, g] of Object.entries(grads)) {
          const name = nameOf.get(vn) as string;
          const before = prevAcc?.get(name);
          acc.set(name, before ? tf.add(before, g) : g);
          if (before) {
            before.dispose();
            g.dispose();
          }
        }
        metricAcc = {};
        for (const [n, t] of Object.entries(cur)) {
          const before = prevMetrics?.[n];
          metricAcc[n] = before ? (tf.add(before, t) as tf.Scalar) : t;
          if (before) {
            before.dispose();
            t.dispose();
          }
        }
      }
      const grads = acc as Map<string, tf.Tensor>;
      const metrics = metricAcc as Metrics;
      // mean over micro-batches, clip, update
      const clipped = clipByGlobalNorm(grads, cfg.gradClip, 1 / cfg.gradAccumulation);
      tf.dispose([...grads.values()]);
      opt.apply(clipped.grads, lr);
      tf.dispose([...clipped.grads.values()]);
      step++;
      tokensSinceLog += stepTokens;

      if (step % cfg.logEvery === 0 || step === totalSteps) {
        const names = Object.keys(metrics);
        const vals = await Promise.all([
          ...names.map((k) => (metrics[k] as tf.Scalar).data()),
          clipped.norm.data(),
        ]); // sync point
        const now = performance.now();
        const m: Record<string, number> = {};
        names.forEach(
          (k, i) => (m[k] = ((vals[i] as ArrayLike<number>)[0] as number) / cfg.gradAccumulation),
        );
        const sm: StepMetrics = {
          ...m,
          step,
          loss: m["loss"] as number,
          learning_rate: lr,
          grad_norm: (vals[names.length] as ArrayLike<number>)[0] as number,
          epoch: (step * perStep) / train.length,
          tokens: stepTokens,
          tokens_per_second: tokensSinceLog / ((now - tLog) / 1000),
        };
        tokensSinceLog = 0;
        tLog = now;
        history.push(sm);
        await spec.onStep?.(sm);
      }
      tf.dispose(Object.values(metrics));
      clipped.norm.dispose();

      if (cfg.evalEvery > 0 && step % cfg.evalEvery === 0 && step < totalSteps) {
        await runEval();
        if (cfg.earlyStoppingPatience > 0 && evalsWithoutImprovement >= cfg.earlyStoppingPatience) {
          stoppedBy = "earlyStopping";
          log(`[${spec.loop}] early stopping at step ${step}`);
          break;
        }
      }
      if (
        cfg.checkpointDir &&
        cfg.checkpointEvery > 0 &&
        step % cfg.checkpointEvery === 0 &&
        step < totalSteps
      ) {
        await saveTo(cfg.checkpointDir, step);
      }
    }
    if (evalHistory[evalHistory.length - 1]?.["step"] !== step) await runEval();
    if (cfg.checkpointDir) await saveTo(cfg.checkpointDir, step);
  } finally {
    opt.dispose();
  }
  return {
    steps: step,
    totalSteps,
    stoppedBy,
    history,
    evalHistory,
    finalEval: evalHistory[evalHistory.length - 1],
    backend,
    checkpointDir: cfg.checkpointDir,
  };
}
