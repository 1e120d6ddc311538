// The loop, measured: N training rounds on the built-in mini-R1 task, from the tiny preset, on
// CPU, through the real trainer service code (database, stage machine, rule judge), against SFT
// alone with the same token budget, in the same run.
//
//   npm run bench -- loop [--rounds 3] [--steps 1000] [--method sft|dpo|rpo|orpo|...|grpo] [--alpha 1] [--temperature 1] [--budget policy|all] [--backend wasm]
//        [--pairs all|new] [--gate-win off|0.5] [--gate-gold off|<min gold-accuracy change>] [--sft-steps 1200] [--prompts 1024] [--seed 0]
//        [--task miniR1|sorting|code|tictactoe] [--policy-tokens <per round>] [--rm-steps 60] [--kl-samples 32] [--baseline on|off]
//        GRPO (--method grpo): [--grpo-steps 30] [--prompts-per-step 8] [--num-iterations 1] [--loss-type dapo] [--beta 0.04]; G = --samples
//
// --policy-tokens caps every round's policy stage at that many training tokens, so methods compare
// at equal policy tokens (the SFT-only baseline gets the same cumulative tokens). GRPO's sampling
// is not counted (nor is the other methods' comparison sampling): only tokens the policy trains on.
//
// Defaults: the recipe of the README's table (about 45 minutes on a 2-core VM): the bootstrap SFT
// trained until more SFT on its demonstrations no longer helps (1,200 steps), then rounds of
// rejection-sampling fine-tuning (`--method sft`: the chosen completions of all pairs so far,
// 4 epochs a round, lr 3e-4) on 1,024 fresh prompts x 4 samples, gated on KL only.
//
// Setting (written into the project's training settings): demonstrations are scarce and labels
// are cheap, the situation RLHF is for. The bootstrap SFT sees target completions of `--sft-prompts`
// problems; every round the promoted policy samples answers to fresh problems, the rule judge
// (mini-R1's checker) labels the comparisons, and the round trains on the pairs. The baseline
// continues the same SFT checkpoint on the same demonstrations for exactly as many training tokens
// as the rounds' policy stages spent (--budget all: the reward models' too), evaluated at each round's cumulative budget
// on the same held-out prompts, greedily, with the same gold reward.
// Output: the table (printed, bench/results/loop.md + loop.json) and bench/loop/loop.svg.
import { parseArgs } from "node:util";
import os from "node:os";
import path from "node:path";
import { promises as fs } from "node:fs";
import {
  loadCheckpoint,
  miniR1,
  selectBackend,
  trainSFT,
  generate,
  disposeModel,
  getEnvironment,
} from "../../trainer/index";
import { createTestDatabase } from "../../tests/helpers/db";
import { resetEnvForTests } from "../../server/env";
import { db } from "../../server/db/client";
import { executeRound } from "../../server/training/engine";
import { requestRound } from "../../server/training/rounds";
import { parseTrainingSettings, type TrainingSettingsInput } from "../../server/training/settings";
import { envProblemsFromMetadata, goldRewardOf } from "../../server/training/task";
import { trainerPrompt } from "../../server/training/models";
import { lineChartSvg } from "./svg";

const { values: a } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    steps: { type: "string", default: "1000" }, // policy optimizer steps per round, at most
    method: { type: "string", default: "sft" }, // rejection sampling; any policy method works (dpo, the project default, ipo, cdpo, robust, hinge, cpo, simpo, orpo, rpo, kto, sft)
    lr: { type: "string" },
    beta: { type: "string", default: "0.1" },
    alpha: { type: "string", default: "1" }, // rpo: weight of the NLL term on the chosen completions
    temperature: { type: "string", default: "1" }, // sampling temperature of the round's comparisons
    pairs: { type: "string", default: "all" }, // policy trains on all pairs of the snapshot, or only the round's new pairs
    "gate-win": { type: "string", default: "off" }, // promotion: reward-model win rate over the previous policy ("off": not checked)
    "gate-gold": { type: "string", default: "off" }, // promotion: gold accuracy change vs the previous policy, at least this ("off": not checked)
    epochs: { type: "string" }, // passes over the pairs a round (default: 4 for sft, 2 for the preference losses)
    "sft-steps": { type: "string", default: "1200" },
    "sft-prompts": { type: "string", default: "600" },
    prompts: { type: "string", default: "1024" }, // fresh prompts sampled per round
    samples: { type: "string", default: "4" }, // samples per prompt (pairs: samples / 2)
    "held-out": { type: "string", default: "500" },
    annotators: { type: "string", default: "0" }, // simulated annotators besides the rule judge
    noise: { type: "string", default: "0.1" },
    judge: { type: "string", default: "rule" }, // rule | none (annotators only)
    backend: { type: "string", default: "wasm" },
    seed: { type: "string", default: "0" },
    out: { type: "string", default: "loop" },
    "figure-from": { type: "string" }, // redraw bench/loop/<out>.svg from a results JSON and exit
    budget: { type: "string", default: "policy" }, // policy: the baseline gets the policy stage's tokens; all: reward model's too
    task: { type: "string", default: "miniR1" }, // the environment: miniR1 | sorting | code | tictactoe
    "policy-tokens": { type: "string" }, // per-round policy token budget (equal-token comparisons)
    "rm-steps": { type: "string", default: "60" },
    "kl-samples": { type: "string", default: "32" },
    baseline: { type: "string", default: "on" }, // the SFT-only baseline at equal tokens
    "grpo-steps": { type: "string", default: "30" },
    "prompts-per-step": { type: "string", default: "8" },
    "num-iterations": { type: "string", default: "1" },
    "loss-type": { type: "string", default: "dapo" },
    "grpo-beta": { type: "string", default: "0.04" },
  },
});
const N = (k: keyof typeof a) => Number(a[k]);
const log = (m: string) => console.log(`[bench/loop] ${m}`);

async function main() {
  const t0 = Date.now();
  const backend = await selectBackend({ force: a.backend, log: () => {} });
  const root = await fs.mkdtemp(path.join(os.tmpdir(), "pw-loop-"));
  process.env.PAIRWISE_CHECKPOINT_DIR = root;
  resetEnvForTests();
  const tdb = await createTestDatabase();
  const sftPrompts = N("sft-prompts");
  const perRound = N("prompts");
  const method = a.method as NonNullable<TrainingSettingsInput["policy"]>["method"];
  // per-method defaults: rejection sampling learns its accumulated answers over 4 epochs at 3e-4
  const methodDefaults =
    method === "sft"
      ? { lr: 3e-4, epochs: 4 }
      : method === "grpo"
        ? { lr: 1e-4, epochs: 1 }
        : { lr: 1e-4, epochs: 2 };
  const grpo = method === "grpo";
  const task = a.task as NonNullable<TrainingSettingsInput["task"]>;
  const training: TrainingSettingsInput = {
    task,
    taskOptions: {
      difficulty: 1,
      trainPrompts: sftPrompts * 2 + perRound * (N("rounds") + 1) + 50,
      heldOutPrompts: N("held-out"),
      seed: 1,
      sftShare: sftPrompts / (sftPrompts * 2 + perRound * (N("rounds") + 1) + 50),
    },
    model: { preset: "tiny", contextLength: 128, vocabSize: 400 },
    bootstrap: { steps: N("sft-steps"), batchSize: 32, lr: 2e-3, warmupSteps: 30 },
    reward: { init: "previous", steps: N("rm-steps"), epochs: 2, batchSize: 16, lr: 1e-4 },
    policy: {
      method,
      beta: N("beta"),
      rpoAlpha: N("alpha"),
      reference: "previous",
      pairs: a.pairs === "all" ? "all" : "new",
      steps: N("steps"),
      epochs: a.epochs ? Number(a.epochs) : methodDefaults.epochs,
      batchSize: 16,
      lr: a.lr ? Number(a.lr) : methodDefaults.lr,
      warmupSteps: 3,
      maxTokens: a["policy-tokens"] ? Number(a["policy-tokens"]) : null,
    },
    grpo: {
      prompts: perRound,
      steps: N("grpo-steps"),
      promptsPerStep: N("prompts-per-step"),
      numGenerations: N("samples"),
      numIterations: N("num-iterations"),
      lossType: a["loss-type"] as "grpo" | "bnpo" | "dr_grpo" | "dapo",
      beta: N("grpo-beta"),
      lr: a.lr ? Number(a.lr) : methodDefaults.lr,
      temperature: N("temperature"),
      maxCompletionLength: 48,
    },
    evaluation: { prompts: N("held-out"), maxTokens: 48, klSamples: N("kl-samples") },
    gate: {
      minWinRate: a["gate-win"] === "off" ? null : Number(a["gate-win"]),
      maxKl: 50,
      minGoldDelta: a["gate-gold"] === "off" ? null : Number(a["gate-gold"]),
    },
    generation: {
      prompts: grpo ? 0 : perRound, // GRPO samples its own groups in the policy stage
      samplesPerPrompt: N("samples"),
      temperature: N("temperature"),
      maxTokens: 48,
    },
    snapshot: { validationFraction: 0.15, minTrainPairs: 8 },
    labeling: { ruleJudge: a.judge === "rule", simulatedAnnotators: N("annotators"), noise: N("noise") },
    checkpointEvery: 50,
    seed: N("seed"),
  };
  const settings = parseTrainingSettings(training);
  const annotators = N("annotators");
  const project = await db().project.create({
    data: {
      slug: "bench-loop",
      name: `${task} loop benchmark`,
      labelSchema: {
        kind: "pairwise",
        strength: true,
        allowTie: true,
        allowBothBad: true,
        axes: [],
        rationale: "optional",
        judgeReasoningSeparately: false,
      },
      overlap: Math.max(1, annotators),
      aiCountsTowardConsensus: a.judge === "rule",
      settings: { training: settings } as object,
    },
  });
  log(
    `backend ${backend.name}; task ${task}; method ${method}; ${N("rounds")} rounds of ${perRound} prompts x ${N("samples")} samples; SFT on ${sftPrompts} demonstrations for ${N("sft-steps")} steps`,
  );

  interface Row {
    round: number;
    goldAccuracy: number | null;
    goldReward: number | null;
    rmValAccuracy: number | null;
    kl: number | null;
    winRate: number | null;
    promoted: boolean | null;
    pairs: number;
    tokens: number;
    rmTokens: number;
    cumulativeTokens: number;
    seconds: number;
    baselineAccuracy?: number;
    baselineReward?: number;
  }
  const rows: Row[] = [];
  let cumulative = 0;
  for (let i = 0; i <= N("rounds"); i++) {
    const ts = Date.now();
    // Round 0 is the bootstrap alone for every method: GRPO needs no pairs, so without this its
    // first round would also train the policy right after the SFT bootstrap (a round more).
    const { round } = await requestRound({
      projectId: project.id,
      trigger: "manual",
      overrides: i === 0 && grpo ? { policy: { method: "sft" } } : undefined,
    });
    const res = await executeRound(round.id, {
      log: (m) => (process.env.BENCH_VERBOSE ? console.log(m) : undefined),
    });
    const r = await db().trainingRound.findUniqueOrThrow({ where: { id: round.id } });
    if (res !== "succeeded") throw new Error(`round ${r.number} ${res}: ${r.error}`);
    const out = r.result as Record<string, Record<string, unknown>>;
    const num = (v: unknown) => (typeof v === "number" ? v : null);
    const rmTokens = num(out.reward?.["tokens"]) ?? 0;
    const tokens = (num(out.policy?.["tokens"]) ?? 0) + (a.budget === "all" ? rmTokens : 0);
    cumulative += tokens;
    const row: Row = {
      round: i,
      goldAccuracy: num(out.evaluate?.["goldAccuracy"]),
      goldReward: num(out.evaluate?.["goldReward"]),
      rmValAccuracy: num(out.reward?.["valAccuracy"]),
      kl: num(out.evaluate?.["kl"]),
      winRate: num(out.evaluate?.["winRate"]),
      promoted: out.gate?.["checkpointId"] ? Boolean(out.gate?.["passed"]) : null,
      pairs: num(out.snapshot?.["train"]) ?? 0,
      tokens,
      rmTokens,
      cumulativeTokens: cumulative,
      seconds: Math.round((Date.now() - ts) / 1000),
    };
    rows.push(row);
    log(
      `round ${i}${i === 0 ? " (bootstrap SFT)" : ""}: gold accuracy ${row.goldAccuracy?.toFixed(3)}, RM val ${row.rmValAccuracy?.toFixed(3) ?? "-"}, KL ${row.kl?.toFixed(2) ?? "-"}, win rate ${row.winRate?.toFixed(2) ?? "-"}, ${row.promoted === null ? "" : row.promoted ? "promoted, " : "rejected, "}${row.tokens} tokens, ${row.seconds} s  [${((Date.now() - t0) / 1000).toFixed(0)} s]`,
    );
  }

  // Baseline: the same SFT checkpoint, more SFT on the same demonstrations, same token budget.
  const tb = Date.now();
  const sftRow = await db().checkpoint.findFirstOrThrow({ where: { projectId: project.id, kind: "sft" } });
  const ck = await loadCheckpoint(path.join(root, sftRow.path));
  const demoPrompts = await db().prompt.findMany({
    where: { projectId: project.id, split: "train" },
    select: { id: true, metadata: true },
  });
  const sftProblems = [
    ...envProblemsFromMetadata(
      task,
      demoPrompts.filter((p) => (p.metadata as { role?: string }).role === "sft"),
    ).values(),
  ];
  const taskEnv = getEnvironment(task);
  const sftData =
    task === "miniR1"
      ? miniR1.sftExamples(sftProblems as miniR1.Problem[])
      : sftProblems.map((p) => ({ prompt: taskEnv.prompt(p), completion: taskEnv.target(p) }));
  const held = await db().prompt.findMany({
    where: { projectId: project.id, split: "test" },
    orderBy: [{ contentHash: "asc" }, { id: "asc" }],
    take: N("held-out"),
    select: { text: true, messages: true, metadata: true },
  });
  const evaluate = async () => {
    let correct = 0;
    let reward = 0;
    for (const p of held) {
      const g = await generate(ck.model, ck.tokenizer, trainerPrompt(p), { maxTokens: 48, temperature: 0 });
      const gr = (await goldRewardOf(p.metadata, g.text)) ?? { correct: false, reward: 0 };
      correct += gr.correct ? 1 : 0;
      reward += gr.reward;
    }
    return { accuracy: correct / held.length, reward: reward / held.length };
  };
  let used = 0;
  const lrFloor = settings.bootstrap.lr * 0.1; // where the bootstrap's cosine schedule ended
  for (const row of a.baseline === "off" ? [] : rows.slice(1)) {
    if (row.cumulativeTokens > used) {
      await trainSFT({
        model: ck.model,
        tokenizer: ck.tokenizer,
        data: sftData,
        config: {
          lr: lrFloor,
          minLrRatio: 1,
          steps: 1_000_000,
          batchSize: 32,
          weightDecay: 0.01,
          seed: 1000 + row.round,
          logEvery: 1,
        },
        onStep: (m) => void (used += m.tokens),
        shouldStop: () => used >= row.cumulativeTokens,
      });
    }
    const e = await evaluate();
    row.baselineAccuracy = e.accuracy;
    row.baselineReward = e.reward;
  }
  disposeModel(ck.model);
  const baselineSeconds = Math.round((Date.now() - tb) / 1000);
  const last = rows[rows.length - 1] as Row;
  const totalSeconds = Math.round((Date.now() - t0) / 1000);

  // Table, JSON, figure
  const f = (x: number | null | undefined, d = 3) => (x === null || x === undefined ? "–" : x.toFixed(d));
  const md = [
    `| round | gold accuracy | gold reward | RM val. accuracy | KL to ref. | win rate vs prev. | gate | train pairs | ${a.budget === "all" ? "policy + RM" : "policy"} tokens (cum.) | RM tokens | wall s | SFT-only baseline accuracy (same tokens) |`,
    `| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`,
    ...rows.map(
      (r) =>
        `| ${r.round === 0 ? "0 (SFT bootstrap)" : r.round} | ${f(r.goldAccuracy)} | ${f(r.goldReward)} | ${f(r.rmValAccuracy)} | ${f(r.kl, 2)} | ${f(r.winRate, 2)} | ${r.promoted === null ? "–" : r.promoted ? "promoted" : "rejected"} | ${r.pairs} | ${r.cumulativeTokens} | ${r.rmTokens} | ${r.seconds} | ${r.round === 0 ? f(r.goldAccuracy) : f(r.baselineAccuracy)} |`,
    ),
  ].join("\n");
  const verdict =
    last.goldAccuracy !== null && last.baselineAccuracy !== undefined
      ? `After ${N("rounds")} rounds: gold accuracy ${f(last.goldAccuracy)} vs SFT-only ${f(last.baselineAccuracy)} with the same ${last.cumulativeTokens} training tokens (ratio ${(last.goldAccuracy / Math.max(1e-9, last.baselineAccuracy)).toFixed(2)}x; bootstrap SFT ${f(rows[0]?.goldAccuracy)}).`
      : "";
  const header = `${task} loop, ${backend.name} backend, method ${method}, ${N("rounds")} rounds x ${perRound} prompts x ${N("samples")} samples, SFT bootstrap ${N("sft-steps")} steps on ${sftPrompts} demonstrations, ${N("held-out")} held-out prompts (greedy). Total ${totalSeconds} s (baseline ${baselineSeconds} s).`;
  console.log(`\n${header}\n\n${md}\n\n${verdict}\n`);
  const resultsDir = path.resolve(import.meta.dirname, "../results");
  await fs.mkdir(resultsDir, { recursive: true });
  await fs.writeFile(path.join(resultsDir, `${a.out}.md`), `${header}\n\n${md}\n\n${verdict}\n`);
  await fs.writeFile(
    path.join(resultsDir, `${a.out}.json`),
    JSON.stringify(
      { args: a, backend: backend.name, totalSeconds, baselineSeconds, rows, settings },
      null,
      2,
    ),
  );
  const svg = loopFigure(rows, String(method), backend.name, task);
  await fs.writeFile(path.join(import.meta.dirname, `${a.out}.svg`), svg);
  await tdb.close();
  await fs.rm(root, { recursive: true, force: true });
}

interface FigureRow {
  round: number;
  goldAccuracy: number | null;
  rmValAccuracy: number | null;
  baselineAccuracy?: number;
}

/** The figure: gold accuracy per round, the SFT-only baseline at the same tokens, RM validation accuracy. */
export function loopFigure(rows: FigureRow[], method: string, backendName: string, task = "miniR1"): string {
  return lineChartSvg(
    [
      {
        name: "RLHF rounds",
        color: "#2563eb",
        points: rows
          .filter((r) => r.goldAccuracy !== null)
          .map((r) => ({ x: r.round, y: r.goldAccuracy as number })),
      },
      {
        name: "SFT only, same tokens",
        color: "#dc2626",
        dashed: true,
        points: rows.map((r) => ({
          x: r.round,
          y: (r.round === 0 ? r.goldAccuracy : r.baselineAccuracy) ?? 0,
        })),
      },
      {
        name: "RM val. accuracy",
        color: "#16a34a",
        points: rows
          .filter((r) => r.rmValAccuracy !== null)
          .map((r) => ({ x: r.round, y: r.rmValAccuracy as number })),
      },
    ],
    {
      title: `${task === "miniR1" ? "mini-R1" : task}: held-out gold accuracy per round (${method === "sft" ? "rejection sampling" : method}, tiny preset, ${backendName})`,
      xLabel: "round (0 = SFT bootstrap)",
      yLabel: "accuracy",
      yMin: 0,
      yMax: 1,
      xTicks: rows.map((r) => ({ x: r.round, label: String(r.round) })),
      labels: true,
    },
  );
}

if (a["figure-from"]) {
  // Redraw the figure from a run's JSON (bench/results/<out>.json) without training again.
  const j = JSON.parse(await fs.readFile(a["figure-from"], "utf8")) as {
    rows: FigureRow[];
    backend: string;
    args: { method: string; out: string };
  };
  await fs.writeFile(
    path.join(import.meta.dirname, `${j.args.out}.svg`),
    loopFigure(j.rows, j.args.method, j.backend),
  );
  process.exit(0);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
