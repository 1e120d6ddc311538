// The training stages of a round: bootstrap (tokenizer + SFT, once per project), reward model,
// policy. Each resumes from its own training checkpoint (work/<stage>, written every
// `checkpointEvery` steps) and registers its final checkpoint once (Checkpoint @@unique([roundId,
// kind])): a stage re-run after a crash finds the row and returns what it recorded.
import { promises as fs } from "node:fs";
import {
  BpeTokenizer,
  cloneModel,
  createPolicy,
  createRewardModel,
  describeModel,
  disposeModel,
  getEnvironment,
  loadCheckpoint,
  miniR1,
  saveCheckpoint,
  scoreRewards,
  trainPreference,
  trainRewardModel,
  trainSFT,
  type GPTModel,
  type ModelConfig,
  type SftExample,
  type StepMetrics,
} from "@/trainer";
import { db } from "@/server/db/client";
import { loadSnapshotPairs, type TrainingPair } from "@/server/data/snapshots";
import type { RoundContext } from "../context";
import { loadModel, loadRefCache, modelConfigOf, saveRefCache, trainerPairs, trainerPrompt } from "../models";
import type { RoundStage } from "../rounds";
import { ensureTaskPrompts, envProblemsFromMetadata } from "../task";
import { grpoStage } from "./grpo";

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** Optimizer steps: `steps`, or fewer when `epochs` passes over `n` examples take fewer. */
export function stepsFor(n: number, o: { steps: number; epochs: number | null; batchSize: number }): number {
  return o.epochs === null
    ? o.steps
    : Math.max(1, Math.min(o.steps, Math.ceil((n * o.epochs) / o.batchSize)));
}

/** onStep for a trainer loop: metrics (TRL names) + progress with tokens/s and ETA. */
export function stepReporter(ctx: RoundContext, stage: RoundStage, totalSteps: number) {
  let tokens = 0;
  let t0 = performance.now();
  let firstStep = -1;
  return {
    tokens: () => tokens,
    onStep: async (m: StepMetrics) => {
      tokens += m.tokens;
      if (firstStep < 0) {
        firstStep = m.step - 1;
        t0 = performance.now() - 1; // the first reported step's time is unknown; count from here
      }
      const { step, epoch: _e, tokens: _t, ...rest } = m;
      void _e;
      void _t;
      ctx.metric(stage, step, rest);
      // Metrics must be stored before the checkpoint that covers their step is written (the loop
      // saves right after onStep returns): a resume restarts after that step and never redoes it.
      if (step % ctx.settings.checkpointEvery === 0 || step === totalSteps) await ctx.flushMetrics();
      const secondsPerStep = (performance.now() - t0) / 1000 / Math.max(1, step - firstStep);
      await ctx.progress({ stage, step, totalSteps, tokensPerSecond: m.tokens_per_second, secondsPerStep });
    },
    onEval: (m: Record<string, number>) => {
      const step = m["step"] ?? 0;
      const { step: _s, ...rest } = m;
      void _s;
      ctx.metric(stage, step, rest);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Stage 0: bootstrap

async function sftData(
  ctx: RoundContext,
): Promise<{ examples: SftExample[]; corpus: string[]; source: string }> {
  if (ctx.settings.task !== "none") {
    const envName = ctx.settings.task;
    const prompts = await db().prompt.findMany({
      where: { projectId: ctx.project.id, split: "train" },
      select: { id: true, metadata: true },
      orderBy: { contentHash: "asc" },
    });
    // Pool prompts first; the trainer keeps the rest of the pool (and the project's own prompts)
    // for generation, so the comparisons it asks for are on prompts SFT never saw.
    const order = new Map(prompts.map((p, i) => [p.id, i]));
    const problems = [...envProblemsFromMetadata(envName, prompts).entries()].sort(
      (a, b) => (order.get(a[0]) as number) - (order.get(b[0]) as number),
    );
    // A resumed bootstrap takes the prompts the first attempt marked, so its data stays the same.
    const marked = new Set(
      prompts.filter((p) => ((p.metadata ?? {}) as { role?: unknown }).role === "sft").map((p) => p.id),
    );
    const n = Math.max(1, Math.round(problems.length * ctx.settings.taskOptions.sftShare));
    const chosen = marked.size ? problems.filter(([id]) => marked.has(id)) : problems.slice(0, n);
    if (!chosen.length)
      throw new Error(
        `${envName} task: the project has no train prompts with a ${envName} problem in their metadata; check taskOptions.trainPrompts.`,
      );
    // Marked, so generation asks for comparisons on the other prompts first.
    const ids = chosen.map(([id]) => id);
    for (let i = 0; i < ids.length; i += 5000) {
      await db()
        .$executeRaw`UPDATE "Prompt" SET metadata = jsonb_set(metadata, '{role}', '"sft"') WHERE id = ANY(${ids.slice(i, i + 5000)})`;
    }
    const sft = chosen.map(([, p]) => p);
    if (envName === "miniR1") {
      const r1 = sft as miniR1.Problem[];
      return {
        examples: miniR1.sftExamples(r1),
        corpus: miniR1.corpus(r1.slice(0, 3000)),
        source: `mini-R1 target completions of ${sft.length} prompts`,
      };
    }
    const env = getEnvironment(envName);
    return {
      examples: sft.map((p) => ({ prompt: env.prompt(p), completion: env.target(p) })),
      corpus: sft.slice(0, 3000).flatMap((p) => [
        env
          .prompt(p)
          .map((m) => m.content)
          .join("\n"),
        env.target(p),
      ]),
      source: `${env.title} target completions of ${sft.length} prompts`,
    };
  }
  // Any other project: the chosen completions of its pairs, else every completion (test prompts excluded).
  let rows = await db().$queryRaw<Array<{ text: string | null; messages: unknown; completion: string }>>`
    SELECT DISTINCT ON (c.id) pr.text, pr.messages, c.text AS completion
    FROM "PreferencePair" pp JOIN "Completion" c ON c.id = pp."chosenId" JOIN "Prompt" pr ON pr.id = pp."promptId"
    WHERE pp."projectId" = ${ctx.project.id} AND pp.active AND pr.split <> 'test'
    ORDER BY c.id LIMIT 50000`;
  let source = "chosen completions of the project's preference pairs";
  if (!rows.length) {
    rows = await db().$queryRaw<Array<{ text: string | null; messages: unknown; completion: string }>>`
      SELECT pr.text, pr.messages, c.text AS completion
      FROM "Completion" c JOIN "Prompt" pr ON pr.id = c."promptId"
      WHERE c."projectId" = ${ctx.project.id} AND pr.split <> 'test'
      ORDER BY c.id LIMIT 50000`;
    source = "the project's completions";
  }
  if (!rows.length) {
    throw new Error(
      "No SFT data: this project has no completions yet. Import prompts with completions (or choose the mini-R1 task) before the first round.",
    );
  }
  const examples: SftExample[] = rows.map((r) => ({ prompt: trainerPrompt(r), completion: r.completion }));
  const corpus = rows.slice(0, 5000).flatMap((r) => {
    const p = trainerPrompt(r);
    return [typeof p === "string" ? p : p.map((m) => m.content).join("\n"), r.completion];
  });
  return { examples, corpus, source: `${source} (${rows.length})` };
}

export async function bootstrapStage(ctx: RoundContext): Promise<Record<string, unknown>> {
  const task = await ensureTaskPrompts(ctx.project.id, ctx.settings);
  const own = await ctx.ownCheckpoint("sft");
  if (own) return { ...((own.metrics ?? {}) as object), checkpointId: own.id, promptsAdded: task.added };
  const current = await ctx.currentPolicy();
  if (current)
    return {
      skipped: `the project has a policy already (${current.name})`,
      checkpointId: current.id,
      promptsAdded: task.added,
    };

  const s = ctx.settings;
  const { examples, corpus, source } = await sftData(ctx);
  ctx.log(`bootstrap: tokenizer + SFT on ${source}`);
  let tokenizer: BpeTokenizer;
  let config: ModelConfig;
  let model: GPTModel;
  if (s.model.basePath) {
    // a pretrained Hugging Face model: its own tokenizer and chat template
    await ctx.progress({ stage: "bootstrap", message: `loading ${s.model.basePath}` }, true);
    const fix = `fix the project's "Base model folder" (admin training page, or \`pairwise train ${ctx.project.slug} --base-model DIR\`), then retry the round`;
    const base = await loadCheckpoint(s.model.basePath).catch((e: unknown) => {
      throw new Error(`base model: ${(e as Error).message} On the trainer's machine: ${fix}.`);
    });
    if (base.kind !== "policy") {
      disposeModel(base.model);
      throw new Error(
        `base model: ${s.model.basePath} holds a reward model (${describeModel(base.model).architecture}), not a language model (*ForCausalLM): ${fix}.`,
      );
    }
    ({ tokenizer, config, model } = base);
  } else {
    await ctx.progress({ stage: "bootstrap", message: "training the tokenizer" }, true);
    tokenizer = BpeTokenizer.train(corpus, s.model.vocabSize); // deterministic: a resumed run gets the same one
    config = modelConfigOf(s, tokenizer.vocabSize);
    model = createPolicy(config, s.seed);
  }
  try {
    const resumeFrom = await ctx.resumeDir("bootstrap");
    const rep = stepReporter(ctx, "bootstrap", s.bootstrap.steps);
    const res = await trainSFT({
      model,
      tokenizer,
      data: examples,
      config: {
        lr: s.bootstrap.lr,
        steps: s.bootstrap.steps,
        batchSize: s.bootstrap.batchSize,
        warmupSteps: s.bootstrap.warmupSteps,
        weightDecay: 0.01,
        seed: s.seed,
        logEvery: 1,
        checkpointEvery: s.checkpointEvery,
        checkpointDir: ctx.workDir("bootstrap"),
        resumeFrom,
      },
      onStep: rep.onStep,
      shouldStop: ctx.shouldStop,
    });
    ctx.checkStop();
    await ctx.flushMetrics();
    const metrics = {
      steps: res.steps,
      tokens: rep.tokens(),
      finalLoss: res.history.at(-1)?.loss ?? null,
      examples: examples.length,
      source,
      resumed: Boolean(resumeFrom),
      model: { ...describeModel(model) }, // architecture, parameters, dtype: shown on the admin training page
    };
    await saveCheckpoint(ctx.abs(ctx.finalRel("sft")), {
      model,
      tokenizer,
      meta: { loop: "sft", project: ctx.project.slug, round: ctx.round.number, basePath: s.model.basePath },
    });
    const ck = await ctx.registerCheckpoint("sft", {
      promoted: true,
      gateReason: "SFT bootstrap: the first policy of the project",
      metrics,
      config: config as object,
    });
    return { ...metrics, checkpointId: ck.id, promptsAdded: task.added };
  } finally {
    disposeModel(model);
  }
}

// ---------------------------------------------------------------------------------------------
// Snapshot pairs used by the reward and policy stages

async function snapshotPairs(ctx: RoundContext, split: "train" | "validation"): Promise<TrainingPair[]> {
  if (!ctx.round.snapshotId) throw new Error("the round has no snapshot (the snapshot stage did not run)");
  return loadSnapshotPairs(db(), ctx.round.snapshotId, split);
}

/** Pair ids in the previous round's snapshot (for "new pairs only"). */
async function previousSnapshotPairIds(ctx: RoundContext): Promise<Set<string>> {
  const prev = await db().trainingRound.findFirst({
    where: { projectId: ctx.project.id, number: { lt: ctx.round.number }, snapshotId: { not: null } },
    orderBy: { number: "desc" },
    select: { snapshotId: true },
  });
  if (!prev?.snapshotId) return new Set();
  const rows = await db().snapshotPair.findMany({
    where: { snapshotId: prev.snapshotId },
    select: { pairId: true },
  });
  return new Set(rows.map((r) => r.pairId));
}

function tooFew(ctx: RoundContext, n: number): string | null {
  const min = ctx.settings.snapshot.minTrainPairs;
  return n < min
    ? `only ${n} train pair${n === 1 ? "" : "s"} (at least ${min} needed; label more comparisons)`
    : null;
}

/** Reward accuracy of a model on pairs: share with r(chosen) > r(rejected). */
async function pairAccuracy(
  model: GPTModel,
  tok: BpeTokenizer,
  pairs: readonly TrainingPair[],
): Promise<number | null> {
  if (!pairs.length) return null;
  const items = pairs.flatMap((p) => {
    const prompt = trainerPrompt({ text: p.prompt, messages: p.messages });
    return [
      { prompt, completion: p.chosen },
      { prompt, completion: p.rejected },
    ];
  });
  const r = await scoreRewards(model, tok, items);
  let ok = 0;
  for (let i = 0; i < pairs.length; i++) ok += (r[2 * i] as number) > (r[2 * i + 1] as number) ? 1 : 0;
  return ok / pairs.length;
}

// ---------------------------------------------------------------------------------------------
// Stage 2: reward model

export async function rewardStage(ctx: RoundContext): Promise<Record<string, unknown>> {
  const own = await ctx.ownCheckpoint("reward");
  if (own) return { ...((own.metrics ?? {}) as object), checkpointId: own.id };
  const train = await snapshotPairs(ctx, "train");
  const few = tooFew(ctx, train.length);
  if (few) return { skipped: few };
  const val = await snapshotPairs(ctx, "validation");
  const s = ctx.settings;
  const base = await ctx.currentPolicy();
  if (!base) throw new Error("no policy checkpoint to start from (the bootstrap stage did not run)");
  const prev = await ctx.previousReward();
  const policy = await loadModel(ctx.opts.checkpointRoot, base, "policy");
  let rm: GPTModel;
  let init: string;
  if (s.reward.init === "previous" && prev) {
    const loaded = await loadModel(ctx.opts.checkpointRoot, prev, "reward");
    rm = loaded.model;
    init = `continued from ${prev.name}`;
  } else {
    rm = createRewardModel(policy.model, s.seed + 1);
    init = `from policy ${base.name}`;
  }
  const tokenizer = policy.tokenizer;
  disposeModel(policy.model);
  try {
    const resumeFrom = await ctx.resumeDir("reward");
    const rewardSteps = stepsFor(train.length, s.reward);
    const rep = stepReporter(ctx, "reward", rewardSteps);
    const res = await trainRewardModel({
      model: rm,
      tokenizer,
      data: trainerPairs(train).map(({ margin: _m, ...p }) => p),
      config: {
        lr: s.reward.lr,
        steps: rewardSteps,
        batchSize: s.reward.batchSize,
        warmupSteps: Math.min(5, rewardSteps - 1),
        seed: s.seed + ctx.round.number,
        logEvery: 1,
        checkpointEvery: s.checkpointEvery,
        checkpointDir: ctx.workDir("reward"),
        resumeFrom,
      },
      onStep: rep.onStep,
      shouldStop: ctx.shouldStop,
    });
    ctx.checkStop();
    await ctx.progress({ stage: "reward", message: "validating the reward model" }, true);
    const valAccuracy = await pairAccuracy(rm, tokenizer, val);
    let prevValAccuracy: number | null = null;
    if (prev) {
      const p = await loadModel(ctx.opts.checkpointRoot, prev, "reward");
      try {
        prevValAccuracy = await pairAccuracy(p.model, p.tokenizer, val);
      } finally {
        disposeModel(p.model);
      }
    }
    ctx.metric("reward", res.steps, {
      val_accuracy: valAccuracy ?? undefined,
      prev_val_accuracy: prevValAccuracy ?? undefined,
    });
    await ctx.flushMetrics();
    const metrics = {
      init,
      steps: res.steps,
      tokens: rep.tokens(),
      trainPairs: train.length,
      valPairs: val.length,
      valAccuracy,
      prevValAccuracy,
      prevCheckpointId: prev?.id ?? null,
      finalLoss: res.history.at(-1)?.loss ?? null,
      trainAccuracy: res.history.at(-1)?.["accuracy"] ?? null,
      resumed: Boolean(resumeFrom),
    };
    await saveCheckpoint(ctx.abs(ctx.finalRel("reward")), {
      model: rm,
      tokenizer,
      meta: {
        loop: "reward",
        project: ctx.project.slug,
        round: ctx.round.number,
        snapshotId: ctx.round.snapshotId,
      },
    });
    const ck = await ctx.registerCheckpoint("reward", {
      parentId: prev?.id ?? base.id,
      snapshotId: ctx.round.snapshotId,
      promoted: true,
      metrics,
      config: rm.config as object,
    });
    return { ...metrics, checkpointId: ck.id };
  } finally {
    disposeModel(rm);
  }
}

// ---------------------------------------------------------------------------------------------
// Stage 3: policy

export async function policyStage(ctx: RoundContext): Promise<Record<string, unknown>> {
  const own = await ctx.ownCheckpoint("policy");
  if (own) return { ...((own.metrics ?? {}) as object), checkpointId: own.id };
  const s = ctx.settings;
  if (s.policy.method === "grpo") return grpoStage(ctx); // online RL on environments: no pairs needed
  let train = await snapshotPairs(ctx, "train");
  if (s.policy.pairs === "new") {
    const seen = await previousSnapshotPairIds(ctx);
    train = train.filter((p) => !seen.has(p.pairId));
  }
  const few = tooFew(ctx, train.length);
  if (few) return { skipped: few };
  const base = await ctx.currentPolicy();
  if (!base) throw new Error("no policy checkpoint to start from (the bootstrap stage did not run)");
  const refCk = s.policy.reference === "sft" ? ((await ctx.sftCheckpoint()) ?? base) : base;
  const loaded = await loadModel(ctx.opts.checkpointRoot, base, "policy");
  const { model, tokenizer } = loaded;
  let reference: GPTModel | null = null;
  try {
    if (refCk.id === base.id) reference = cloneModel(model, { trainable: false });
    else {
      reference = (await loadModel(ctx.opts.checkpointRoot, refCk, "policy")).model;
      for (const v of reference.params.values()) v.trainable = false;
    }
    const data = trainerPairs(train);
    // The reference's log-probs of each pair, from the RefLogpCache table (filled by earlier rounds).
    // (KTO's entries are per completion with a KL term; they stay in the round's training checkpoint.)
    const cache = await loadRefCache(
      refCk.id,
      s.policy.method === "sft" || s.policy.method === "kto" ? [] : data.map((p) => p.key as string),
    );
    const cachedBefore = cache.size;
    const resumeFrom = await ctx.resumeDir("policy");
    const policySteps = stepsFor(train.length, s.policy);
    const rep = stepReporter(ctx, "policy", policySteps);
    // the policy token budget (policy.maxTokens) ends the stage like its step count
    const stop = () =>
      ctx.shouldStop() || (s.policy.maxTokens !== null && rep.tokens() >= s.policy.maxTokens);
    const loopConfig = {
      lr: s.policy.lr,
      steps: policySteps,
      batchSize: s.policy.batchSize,
      warmupSteps: Math.min(s.policy.warmupSteps, policySteps - 1),
      minLrRatio: 0.5,
      seed: s.seed + ctx.round.number,
      logEvery: 1,
      checkpointEvery: s.checkpointEvery,
      checkpointDir: ctx.workDir("policy"),
      resumeFrom,
    };
    const res =
      s.policy.method === "sft"
        ? await trainSFT({
            model,
            tokenizer,
            data: data.map((p) => ({ prompt: p.prompt, completion: p.chosen })),
            config: loopConfig,
            onStep: rep.onStep,
            shouldStop: stop,
          })
        : await trainPreference({
            method: s.policy.method,
            model,
            reference,
            referenceId: refCk.id,
            refCache: cache,
            tokenizer,
            // KTO reads each pair as a desirable (chosen) and an undesirable (rejected) completion.
            data:
              s.policy.method === "kto"
                ? data.flatMap((p) => [
                    { prompt: p.prompt, completion: p.chosen, label: true, key: `${p.key}:chosen` },
                    { prompt: p.prompt, completion: p.rejected, label: false, key: `${p.key}:rejected` },
                  ])
                : data,
            beta: s.policy.beta,
            rpoAlpha: s.policy.rpoAlpha,
            config: loopConfig,
            onStep: rep.onStep,
            shouldStop: stop,
          });
    ctx.checkStop();
    const cacheAdded = await saveRefCache(refCk.id, cache);
    await ctx.flushMetrics();
    const last = res.history.at(-1) ?? ({} as Record<string, number>);
    const metrics = {
      method: s.policy.method,
      beta: s.policy.beta,
      ...(s.policy.method === "rpo"
        ? { rpoAlpha: s.policy.rpoAlpha, nll_loss: last["nll_loss"] ?? null }
        : {}),
      referenceCheckpointId: refCk.id,
      reference: s.policy.reference,
      baseCheckpointId: base.id,
      steps: res.steps,
      tokens: rep.tokens(),
      trainPairs: train.length,
      refCacheHits: cachedBefore,
      refCacheAdded: cacheAdded,
      finalLoss: last["loss"] ?? null,
      "rewards/accuracies": last["rewards/accuracies"] ?? null,
      "rewards/margins": last["rewards/margins"] ?? null,
      resumed: Boolean(resumeFrom),
    };
    await saveCheckpoint(ctx.abs(ctx.finalRel("policy")), {
      model,
      tokenizer,
      meta: {
        loop: "preference",
        method: s.policy.method,
        project: ctx.project.slug,
        round: ctx.round.number,
        snapshotId: ctx.round.snapshotId,
      },
    });
    const ck = await ctx.registerCheckpoint("policy", {
      parentId: base.id,
      snapshotId: ctx.round.snapshotId,
      promoted: false, // the gate decides
      metrics,
      config: model.config as object,
    });
    return { ...metrics, checkpointId: ck.id };
  } finally {
    disposeModel(model);
    if (reference) disposeModel(reference);
  }
}

/** Removes a round's training work folders once the round is done (final checkpoints stay). */
export async function removeWorkDirs(ctx: RoundContext): Promise<void> {
  await fs.rm(ctx.abs(`${ctx.roundRel}/work`), { recursive: true, force: true });
}

export { sum };
