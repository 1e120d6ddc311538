// Trains the demo's served model, `pairwise-tiny`, reproducibly on CPU (a few minutes), and writes
// it to server/serve/demo-model/ with a manifest (manifest.json: the recipe, the SHA-256 of each
// file, and the held-out quality), which the tests check against the shipped files.
//
//   nice -n 10 npx tsx scripts/train-demo-model.ts            # train + write (the committed one)
//   npx tsx scripts/train-demo-model.ts --check               # train again, compare with manifest
//   npx tsx scripts/train-demo-model.ts --steps 3 --out DIR   # a quick run elsewhere
//
// The task is the demo's: mini-R1 arithmetic word problems (one and two steps, as in the demo
// project) plus bare arithmetic questions a newcomer types ("2+3?", "What is 12 - 5?"), answered
// "<think>2 + 3 = 5.</think>The answer is 5.". Quality is measured greedily on prompts never
// trained on: the demo project's own 40 problems (seed 7), 200 fresh word problems, and 200 bare
// questions whose (a, op, b) never appear in training.
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import {
  BpeTokenizer,
  PRESETS,
  countParams,
  createPolicy,
  disposeModel,
  generate,
  miniR1,
  saveCheckpoint,
  selectBackend,
  trainSFT,
  Rng,
  type ChatMessage,
  type GPTModel,
  type SftExample,
} from "../trainer/index";

export const DEMO_MODEL_DIR = path.join("server", "serve", "demo-model");

/** The recipe (recorded in the manifest; change it and the shipped model must be retrained). */
export const RECIPE = {
  seed: 20261205,
  vocabSize: 512,
  model: { ...PRESETS.tiny, contextLength: 256 },
  wordProblems: { seed: 1001, perDifficulty: 6000 },
  bareQuestions: 6000,
  train: { steps: 320, batchSize: 32, lr: 2e-3, minLrRatio: 0.05, warmupSteps: 30, weightDecay: 0.01 },
  backend: "wasm" as const,
};

/** A bare arithmetic question ("7+5?") and its target completion. */
export interface BareQuestion {
  a: number;
  op: "+" | "-";
  b: number;
  answer: number;
  question: string;
}

const BARE_TEMPLATES = [
  (a: number, op: string, b: number) => `${a}${op}${b}?`,
  (a: number, op: string, b: number) => `${a} ${op} ${b}?`,
  (a: number, op: string, b: number) => `${a} ${op} ${b} =`,
  (a: number, op: string, b: number) => `What is ${a} ${op} ${b}?`,
  (a: number, op: string, b: number) => `What is ${a}${op}${b}?`,
  (a: number, op: string, b: number) => `How much is ${a} ${op} ${b}?`,
  (a: number, op: string, b: number) => `Compute ${a} ${op} ${b}.`,
];

/** Held out of training: every (a, op, b) with (a * 7 + b * 3 + (op === "-" ? 1 : 0)) % 10 === 0. */
export function isHeldOutTriple(a: number, op: "+" | "-", b: number): boolean {
  return (a * 7 + b * 3 + (op === "-" ? 1 : 0)) % 10 === 0;
}

/** `n` bare questions with operands 0..20 (results never negative); `heldOut` picks which side. */
export function bareQuestions(seed: number, n: number, heldOut: boolean): BareQuestion[] {
  const rng = new Rng(seed);
  const out: BareQuestion[] = [];
  while (out.length < n) {
    const op = rng.pick(["+", "-"] as const);
    let a = rng.range(0, 20);
    let b = rng.range(0, 20);
    if (op === "-" && b > a) [a, b] = [b, a];
    if (isHeldOutTriple(a, op, b) !== heldOut) continue;
    const answer = op === "+" ? a + b : a - b;
    out.push({ a, op, b, answer, question: rng.pick(BARE_TEMPLATES)(a, op, b) });
  }
  return out;
}

export function bareCompletion(q: BareQuestion): string {
  return `<think>${q.a} ${q.op} ${q.b} = ${q.answer}.</think>The answer is ${q.answer}.`;
}

export interface HeldOutItem {
  messages: ChatMessage[];
  answer: number;
}

/** The held-out sets (never trained on). */
export function heldOutSets(): Record<"demoProject" | "wordProblems" | "bare", HeldOutItem[]> {
  const toItem = (p: miniR1.Problem) => ({ messages: miniR1.chatPrompt(p), answer: p.answer });
  return {
    demoProject: miniR1.makeProblems(7, 40, { difficulty: 2 }).map(toItem), // server/seed/demo.ts
    wordProblems: [
      ...miniR1.makeProblems(9001, 100, { difficulty: 1 }),
      ...miniR1.makeProblems(9002, 100, { difficulty: 2 }),
    ].map(toItem),
    bare: bareQuestions(9003, 200, true).map((q) => ({
      messages: [{ role: "user", content: q.question }],
      answer: q.answer,
    })),
  };
}

/** Greedy accuracy (final answer correct) and format rate on a held-out set. */
export async function scoreHeldOut(
  model: GPTModel,
  tok: BpeTokenizer,
  items: readonly HeldOutItem[],
): Promise<{ n: number; accuracy: number; formatRate: number; examples: string[] }> {
  let correct = 0;
  let fmt = 0;
  const examples: string[] = [];
  for (const it of items) {
    const r = await generate(model, tok, it.messages, { maxTokens: 48, temperature: 0 });
    const g = miniR1.goldReward({ answer: it.answer }, r.text);
    correct += g.correct ? 1 : 0;
    fmt += g.formatOk ? 1 : 0;
    if (examples.length < 3) examples.push(`${it.messages[0]?.content} -> ${r.text}`);
  }
  return { n: items.length, accuracy: correct / items.length, formatRate: fmt / items.length, examples };
}

function trainingData(): { examples: SftExample[]; corpus: string[] } {
  const held = heldOutSets();
  const heldQuestions = new Set(
    [...held.demoProject, ...held.wordProblems].map((h) => String(h.messages[0]?.content)),
  );
  const problems = [1, 2]
    .flatMap((d) =>
      miniR1.makeProblems(RECIPE.wordProblems.seed + d, RECIPE.wordProblems.perDifficulty, { difficulty: d }),
    )
    .filter((p) => !heldQuestions.has(p.question));
  const bare = bareQuestions(RECIPE.seed, RECIPE.bareQuestions, false);
  const examples: SftExample[] = [
    ...miniR1.sftExamples(problems),
    ...bare.map((q) => ({
      prompt: [{ role: "user" as const, content: q.question }],
      completion: bareCompletion(q),
    })),
  ];
  const corpus = [
    ...miniR1.corpus(problems.slice(0, 2000)),
    ...bare.slice(0, 2000).flatMap((q) => [q.question, bareCompletion(q)]),
  ];
  return { examples, corpus };
}

export interface TrainDemoResult {
  files: Record<string, string>;
  quality: Record<string, { n: number; accuracy: number; formatRate: number }>;
  randomInit: Record<string, { n: number; accuracy: number; formatRate: number }>;
  examples: string[];
  steps: number;
  finalLoss: number;
  seconds: number;
}

async function sha256File(file: string): Promise<string> {
  return createHash("sha256")
    .update(await fs.readFile(file))
    .digest("hex");
}

/** Trains the model and writes the checkpoint folder `out` (weights, tokenizer, config). */
export async function trainDemoModel(
  out: string,
  opts: { steps?: number; log?: (m: string) => void; evaluate?: boolean } = {},
): Promise<TrainDemoResult> {
  const log = opts.log ?? (() => {});
  const t0 = Date.now();
  await selectBackend({ force: RECIPE.backend, log: () => {} });
  const { examples, corpus } = trainingData();
  const tokenizer = BpeTokenizer.train(corpus, RECIPE.vocabSize);
  const config = { ...RECIPE.model, vocabSize: tokenizer.vocabSize };
  log(`${examples.length} examples, vocabulary ${tokenizer.vocabSize}, ${countParams(config)} parameters`);
  const model = createPolicy(config, RECIPE.seed);
  const held = heldOutSets();
  const evaluate = opts.evaluate ?? true;
  const score = async () => {
    const r: TrainDemoResult["quality"] = {};
    const ex: string[] = [];
    for (const [name, items] of Object.entries(held)) {
      const s = await scoreHeldOut(model, tokenizer, items);
      r[name] = { n: s.n, accuracy: s.accuracy, formatRate: s.formatRate };
      ex.push(...s.examples.slice(0, 2));
    }
    return { r, ex };
  };
  try {
    const randomInit = evaluate ? (await score()).r : {};
    if (evaluate) log(`random init: ${JSON.stringify(randomInit)}`);
    const steps = opts.steps ?? RECIPE.train.steps;
    let finalLoss = NaN;
    const res = await trainSFT({
      model,
      tokenizer,
      data: examples,
      config: { ...RECIPE.train, steps, seed: RECIPE.seed, logEvery: 25 },
      onStep: (m) => {
        finalLoss = m.loss ?? finalLoss;
        if (m.step % 50 === 0)
          log(
            `step ${m.step}/${steps} loss ${m.loss?.toFixed(4)} (${Math.round((Date.now() - t0) / 1000)} s)`,
          );
      },
    });
    const quality = evaluate ? await score() : { r: {}, ex: [] };
    await fs.mkdir(path.dirname(path.resolve(out)), { recursive: true });
    await saveCheckpoint(out, {
      model,
      tokenizer,
      meta: {
        name: "pairwise-tiny",
        origin: `demo model: SFT on mini-R1 and bare arithmetic, ${res.steps} steps (scripts/train-demo-model.ts)`,
        backend: RECIPE.backend,
      },
    });
    const files: Record<string, string> = {};
    for (const f of (await fs.readdir(out)).sort()) {
      if (f === "manifest.json") continue;
      files[f] = await sha256File(path.join(out, f));
    }
    return {
      files,
      quality: quality.r,
      randomInit,
      examples: quality.ex,
      steps: res.steps,
      finalLoss,
      seconds: Math.round((Date.now() - t0) / 1000),
    };
  } finally {
    disposeModel(model);
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      out: { type: "string" },
      steps: { type: "string" },
      check: { type: "boolean", default: false },
      "no-eval": { type: "boolean", default: false },
    },
  });
  const t0 = Date.now();
  const log = (m: string) => console.log(`[train-demo-model ${Math.round((Date.now() - t0) / 1000)}s] ${m}`);
  const out = path.resolve(values.out ?? (values.check ? `.data/demo-model-check` : DEMO_MODEL_DIR));
  const r = await trainDemoModel(out, {
    steps: values.steps ? Number(values.steps) : undefined,
    evaluate: !values["no-eval"],
    log,
  });
  log(`done in ${r.seconds} s, ${r.steps} steps, final loss ${r.finalLoss.toFixed(4)}`);
  log(`held-out quality: ${JSON.stringify(r.quality)}`);
  for (const e of r.examples) log(`  ${e}`);
  if (values.check) {
    const manifest = JSON.parse(await fs.readFile(path.join(DEMO_MODEL_DIR, "manifest.json"), "utf8")) as {
      files: Record<string, string>;
    };
    const same = JSON.stringify(manifest.files) === JSON.stringify(r.files);
    log(
      same
        ? "the retrained files are byte-identical to the shipped ones"
        : "DIFFERENT from the shipped files",
    );
    if (!same) log(JSON.stringify({ shipped: manifest.files, retrained: r.files }, null, 2));
    return same ? 0 : 1;
  }
  const manifest = {
    model: "pairwise-tiny",
    script: "scripts/train-demo-model.ts",
    command: "nice -n 10 npx tsx scripts/train-demo-model.ts",
    recipe: RECIPE,
    steps: r.steps,
    finalLoss: r.finalLoss,
    seconds: r.seconds,
    heldOut: r.quality,
    randomInit: r.randomInit,
    examples: r.examples,
    files: r.files,
  };
  await fs.writeFile(path.join(out, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
  log(`wrote ${out}`);
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  main().then(
    (c) => process.exit(c),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
