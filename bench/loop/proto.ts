// Database-free prototype of bench/loop (for parameter sweeps on a machine without PostgreSQL):
// the same trainer calls the round stages make (bootstrap SFT, policy training with the previous
// policy as reference, greedy gold evaluation, sampling fresh prompts and labelling comparisons
// by the gold checker), and the same SFT-only baseline at equal tokens. No reward model and no
// gate: every round's policy is kept (the reward model does not feed the policy's loss; the bench's
// gate may reject a round). The README's bench tables come from bench/loop/run.ts; its sweep lists
// from here (bench/loop/sweeps/).
//
//   npx tsx bench/loop/proto.ts --method rpo --sft-prompts 200 --rounds 3 --out /tmp/x.json
import { parseArgs } from "node:util";
import { promises as fs } from "node:fs";
import {
  BpeTokenizer,
  cloneModel,
  createPolicy,
  disposeModel,
  generate,
  miniR1,
  mixSeed,
  PRESETS,
  loadCheckpoint,
  saveCheckpoint,
  selectBackend,
  trainPreference,
  trainSFT,
  type GPTModel,
  type PreferencePair,
} from "../../trainer/index";

const { values: a } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    method: { type: "string", default: "rpo" },
    beta: { type: "string", default: "0.1" },
    alpha: { type: "string", default: "1" },
    lr: { type: "string", default: "1e-4" },
    epochs: { type: "string", default: "2" },
    steps: { type: "string", default: "40" },
    "sft-prompts": { type: "string", default: "200" },
    "sft-steps": { type: "string", default: "250" },
    "sft-val": { type: "string", default: "0" }, // validation share of the demonstrations (early stopping)
    "sft-eval-every": { type: "string", default: "25" },
    patience: { type: "string", default: "0" },
    prompts: { type: "string", default: "192" },
    samples: { type: "string", default: "4" },
    temperature: { type: "string", default: "1" },
    pairing: { type: "string", default: "consecutive" }, // consecutive | bestworst | all
    pairs: { type: "string", default: "new" }, // new | all (accumulate)
    "held-out": { type: "string", default: "500" },
    seed: { type: "string", default: "0" },
    "no-baseline": { type: "string", default: "0" },
    "extra-gold": { type: "string", default: "0" },
    "only-extra": { type: "string", default: "0" },
    "base-lr": { type: "string", default: "2e-4" }, // the bootstrap's final learning rate (its cosine floor)
    "task-seed": { type: "string", default: "1" },
    out: { type: "string", default: "/tmp/proto.json" },
    init: { type: "string" }, // start from this bootstrap checkpoint (skips the bootstrap)
    save: { type: "string" }, // save the bootstrap checkpoint here and exit
    "baseline-curve": { type: "string" }, // comma-separated token budgets: only the SFT-only baseline
    "save-curve": { type: "string" }, // with --baseline-curve: save a checkpoint at each budget under this folder
  },
});
const N = (k: keyof typeof a) => Number(a[k]);
const t0 = Date.now();
const log = (m: string) => console.log(`[proto ${((Date.now() - t0) / 1000).toFixed(0)}s] ${m}`);

async function evaluate(model: GPTModel, tok: BpeTokenizer, held: miniR1.Problem[]) {
  let c = 0;
  for (const p of held) {
    const g = await generate(model, tok, miniR1.chatPrompt(p), { maxTokens: 48, temperature: 0 });
    if (miniR1.goldReward(p, g.text).correct) c++;
  }
  return c / held.length;
}

async function main() {
  await selectBackend({ force: "wasm", log: () => {} });
  const seed = N("seed");
  const rounds = N("rounds");
  const nSft = N("sft-prompts");
  const perRound = N("prompts");
  const pool = miniR1.makeProblems(100 + N("task-seed"), nSft + perRound * (rounds + 1) + 50, {
    difficulty: 1,
  });
  const held = miniR1.makeProblems(900_000 + N("task-seed"), N("held-out"), { difficulty: 1 });
  const sftProblems = pool.slice(0, nSft);
  const fresh = pool.slice(nSft);
  let tok: BpeTokenizer;
  let model: GPTModel;
  let boot: number;
  let sft: { steps: number; stoppedBy: string } = { steps: 0, stoppedBy: "loaded" };
  if (a.init) {
    const ck = await loadCheckpoint(a.init);
    // fresh prompts start after the demonstrations: they must be the ones the checkpoint learned from
    const learned = ck.meta["sftPrompts"];
    if (typeof learned === "number" && learned !== nSft)
      throw new Error(`${a.init} was trained on ${learned} demonstrations; pass --sft-prompts ${learned}`);
    tok = ck.tokenizer;
    model = ck.model;
    boot = await evaluate(model, tok, held);
    log(`bootstrap loaded from ${a.init}: accuracy ${boot}`);
  } else {
    tok = BpeTokenizer.train(miniR1.corpus(sftProblems), 400);
    model = createPolicy({ ...PRESETS.tiny, vocabSize: tok.vocabSize, contextLength: 128 }, seed);
    const res = await trainSFT({
      model,
      tokenizer: tok,
      data: miniR1.sftExamples(sftProblems),
      config: {
        lr: 2e-3,
        steps: N("sft-steps"),
        batchSize: 32,
        warmupSteps: 30,
        weightDecay: 0.01,
        seed,
        logEvery: 10,
        evalFraction: N("sft-val"),
        evalEvery: N("sft-val") > 0 ? N("sft-eval-every") : 0,
        earlyStoppingPatience: N("patience"),
      },
      log: (m) => log(m),
    });
    sft = res;
    if (a.save) {
      await saveCheckpoint(a.save, {
        model,
        tokenizer: tok,
        meta: { steps: res.steps, stoppedBy: res.stoppedBy, sftPrompts: nSft },
      });
      log(`saved ${a.save} after ${res.steps} steps (${res.stoppedBy})`);
    }
    boot = await evaluate(model, tok, held);
    log(
      `bootstrap: ${res.steps} steps (${res.stoppedBy}), eval_loss ${res.finalEval?.["eval_loss"]?.toFixed(3)}, accuracy ${boot}`,
    );
    if (a.save) return;
  }
  if (a["baseline-curve"]) {
    // --extra-gold K: also (or, with --only-extra 1, only) the target completions of K fresh prompts:
    // the best data a round could add on K prompts (an upper bound for rejection sampling)
    const extra = miniR1.sftExamples(fresh.slice(0, N("extra-gold")));
    const demos = N("only-extra") ? extra : [...miniR1.sftExamples(sftProblems), ...extra];
    let used = 0;
    const rows: Array<Record<string, number>> = [{ tokens: 0, acc: boot }];
    for (const target of String(a["baseline-curve"]).split(",").map(Number)) {
      await trainSFT({
        model,
        tokenizer: tok,
        data: demos,
        config: {
          lr: N("base-lr"),
          minLrRatio: 1,
          steps: 1_000_000,
          batchSize: 32,
          weightDecay: 0.01,
          seed: 1000 + rows.length,
          logEvery: 1,
        },
        onStep: (m) => void (used += m.tokens),
        shouldStop: () => used >= target,
      });
      rows.push({ tokens: used, acc: await evaluate(model, tok, held), seconds: (Date.now() - t0) / 1000 });
      if (a["save-curve"])
        await saveCheckpoint(`${a["save-curve"]}/t${used}`, {
          model,
          tokenizer: tok,
          meta: { tokens: used, sftPrompts: nSft },
        });
      log(`baseline at ${used} tokens: ${rows.at(-1)?.acc}`);
      await fs.writeFile(
        a.out as string,
        JSON.stringify({ args: a, rows, seconds: (Date.now() - t0) / 1000 }, null, 1),
      );
    }
    return;
  }
  const bootModel = cloneModel(model, { trainable: true });

  const rows: Array<Record<string, number>> = [{ round: 0, acc: boot, tokens: 0 }];
  let cum = 0;
  let allPairs: PreferencePair[] = [];
  let used = 0;
  const demos = miniR1.sftExamples(sftProblems);
  for (let r = 1; r <= rounds; r++) {
    // generate with the current policy on fresh prompts, label by the gold checker
    const prompts = fresh.slice((r - 1) * perRound, r * perRound);
    const pairs: PreferencePair[] = [];
    let anyCorrect = 0;
    let sampledCorrect = 0;
    for (const [pi, p] of prompts.entries()) {
      const texts: string[] = [];
      for (let k = 0; k < N("samples"); k++) {
        const g = await generate(model, tok, miniR1.chatPrompt(p), {
          maxTokens: 48,
          temperature: N("temperature"),
          seed: mixSeed(seed, r, pi, k),
        });
        if (!texts.includes(g.text)) texts.push(g.text);
      }
      const rew = texts.map((t) => miniR1.goldReward(p, t).reward);
      const cor = texts.map((t) => miniR1.goldReward(p, t).correct);
      sampledCorrect += cor.filter(Boolean).length;
      if (cor.some(Boolean)) anyCorrect++;
      const mk = (i: number, j: number) => {
        const [c, w] = (rew[i] as number) > (rew[j] as number) ? [i, j] : [j, i];
        pairs.push({
          prompt: miniR1.chatPrompt(p),
          chosen: texts[c] as string,
          rejected: texts[w] as string,
          key: `${p.id}:${r}:${i}:${j}`,
        });
      };
      if (a.pairing === "consecutive") {
        for (let j = 0; j + 1 < texts.length; j += 2) if (rew[j] !== rew[j + 1]) mk(j, j + 1);
      } else if (a.pairing === "bestworst") {
        let bi = 0;
        let wi = 0;
        rew.forEach((x, i) => {
          if (x > (rew[bi] as number)) bi = i;
          if (x < (rew[wi] as number)) wi = i;
        });
        if (rew[bi] !== rew[wi]) mk(bi, wi);
      } else {
        for (let i = 0; i < texts.length; i++)
          for (let j = i + 1; j < texts.length; j++) if (rew[i] !== rew[j]) mk(i, j);
      }
    }
    allPairs = a.pairs === "all" ? [...allPairs, ...pairs] : pairs;
    const train = allPairs;
    const steps = Math.max(1, Math.min(N("steps"), Math.ceil((train.length * N("epochs")) / 16)));
    let tokens = 0;
    const cfg = {
      lr: N("lr"),
      steps,
      batchSize: 16,
      warmupSteps: Math.min(3, steps - 1),
      minLrRatio: 0.5,
      seed: seed + r,
      logEvery: 1,
    };
    const onStep = (m: { tokens: number }) => void (tokens += m.tokens);
    if (train.length >= 8) {
      if (a.method === "sft") {
        await trainSFT({
          model,
          tokenizer: tok,
          data: train.map((p) => ({ prompt: p.prompt, completion: p.chosen })),
          config: { ...cfg, lr: N("lr") },
          onStep,
        });
      } else {
        const reference = cloneModel(model, { trainable: false });
        await trainPreference({
          method: a.method as "dpo",
          model,
          reference,
          tokenizer: tok,
          data: train,
          beta: N("beta"),
          rpoAlpha: N("alpha"),
          config: cfg,
          onStep,
        });
        disposeModel(reference);
      }
    }
    cum += tokens;
    const acc = await evaluate(model, tok, held);
    // baseline: SFT alone on the same demonstrations, continued to the same cumulative tokens
    if (N("no-baseline") === 0 && cum > used) {
      await trainSFT({
        model: bootModel,
        tokenizer: tok,
        data: demos,
        config: {
          lr: N("base-lr"),
          minLrRatio: 1,
          steps: 1_000_000,
          batchSize: 32,
          weightDecay: 0.01,
          seed: 1000 + r,
          logEvery: 1,
        },
        onStep: (m) => void (used += m.tokens),
        shouldStop: () => used >= cum,
      });
    }
    const base = N("no-baseline") ? -1 : await evaluate(bootModel, tok, held);
    rows.push({
      round: r,
      acc,
      base,
      tokens: cum,
      pairs: train.length,
      newPairs: pairs.length,
      anyCorrect,
      sampledCorrect,
    });
    await fs.writeFile(
      a.out as string,
      JSON.stringify(
        { args: a, sftSteps: sft.steps, stoppedBy: sft.stoppedBy, rows, seconds: (Date.now() - t0) / 1000 },
        null,
        1,
      ),
    );
    log(
      `round ${r}: baseline ${base}, ${pairs.length} new pairs (prompts with a correct sample ${anyCorrect}/${prompts.length}, correct samples ${sampledCorrect}), ${tokens} tokens, accuracy ${acc}`,
    );
  }
  const last = rows[rows.length - 1] as Record<string, number>;
  log(`RESULT ${JSON.stringify(a)} boot ${boot} final ${last.acc} baseline ${last["base"]}`);
  await fs.writeFile(
    a.out as string,
    JSON.stringify(
      { args: a, sftSteps: sft.steps, stoppedBy: sft.stoppedBy, rows, seconds: (Date.now() - t0) / 1000 },
      null,
      1,
    ),
  );
}
main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
