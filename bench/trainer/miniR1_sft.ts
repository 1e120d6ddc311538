// mini-R1 demo and measurement: train a tokenizer, SFT the tiny preset on CPU (WASM by default) for
// a time budget, then report greedy accuracy on held-out problems (gold reward).
//   npx tsx bench/trainer/miniR1_sft.ts [--minutes 5] [--difficulty 1] [--backend wasm] [--steps N]
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import {
  BpeTokenizer,
  PRESETS,
  createPolicy,
  evaluateMiniR1,
  miniR1,
  numParams,
  selectBackend,
  trainSFT,
} from "../../trainer/index";

const { values: args } = parseArgs({
  options: {
    minutes: { type: "string", default: "5" },
    difficulty: { type: "string", default: "1" },
    backend: { type: "string" },
    steps: { type: "string", default: "1500" },
    batch: { type: "string", default: "32" },
    lr: { type: "string", default: "2e-3" },
    eval: { type: "string", default: "200" },
    seed: { type: "string", default: "0" },
    out: { type: "string" }, // write the summary JSON here too
  },
});

async function main() {
  const here = typeof __dirname === "string" ? __dirname : process.cwd();
  const wasmDir = existsSync(path.join(here, "tfjs-backend-wasm.wasm")) ? here : undefined; // bundled
  const be = await selectBackend({ force: args.backend, wasmDir });
  const difficulty = Number(args.difficulty);
  const seed = Number(args.seed);
  const train = miniR1.makeProblems(1000 + seed, 20000, { difficulty });
  const held = miniR1.makeProblems(999_999, Number(args.eval), { difficulty });
  const tok = BpeTokenizer.train(miniR1.corpus(train.slice(0, 3000)), 400);
  const model = createPolicy({ ...PRESETS.tiny, vocabSize: tok.vocabSize, contextLength: 128 }, seed);
  console.log(
    `backend ${be.name}; tiny preset: ${numParams(model)} params, vocab ${tok.vocabSize}; difficulty ${difficulty}`,
  );
  const before = await evaluateMiniR1(model, tok, held.slice(0, 20));
  console.log(`before SFT: accuracy ${before.accuracy.toFixed(3)} on 20`);
  const budgetMs = Number(args.minutes) * 60_000;
  const t0 = Date.now();
  const res = await trainSFT({
    model,
    tokenizer: tok,
    data: miniR1.sftExamples(train),
    config: {
      lr: Number(args.lr),
      steps: Number(args.steps),
      batchSize: Number(args.batch),
      warmupSteps: 30,
      weightDecay: 0.01,
      seed,
      logEvery: 25,
    },
    shouldStop: () => Date.now() - t0 > budgetMs,
    onStep: (m) =>
      console.log(
        `step ${m.step} loss ${m.loss.toFixed(4)} lr ${m.learning_rate.toExponential(2)} ${Math.round(m.tokens_per_second)} tok/s ${((Date.now() - t0) / 1000).toFixed(0)}s`,
      ),
  });
  const trainSec = (Date.now() - t0) / 1000;
  const ev = await evaluateMiniR1(model, tok, held);
  console.log(
    ev.samples
      .slice(0, 3)
      .map(
        (s) => `  Q: ${s.question}\n  A: ${s.completion} (${s.correct ? "correct" : `wrong, ${s.answer}`})`,
      )
      .join("\n"),
  );
  const summary = {
    backend: be.name,
    difficulty,
    params: numParams(model),
    steps: res.steps,
    stoppedBy: res.stoppedBy,
    trainSeconds: Math.round(trainSec),
    finalLoss: res.history[res.history.length - 1]?.loss,
    heldOut: ev.n,
    accuracy: ev.accuracy,
    formatRate: ev.formatRate,
    meanReward: ev.meanReward,
  };
  console.log(JSON.stringify(summary));
  if (args.out)
    writeFileSync(
      args.out,
      JSON.stringify(
        { ...summary, date: new Date().toISOString(), samples: ev.samples.slice(0, 20) },
        null,
        2,
      ),
    );
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
