// End to end: the LLM judge against `pairwise serve` (a real model over real HTTP, on a real
// project), the reward-model judge on a reward checkpoint, the rule judge on mini-R1.
import os from "node:os";
import path from "node:path";
import { promises as fs } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BpeTokenizer,
  Rng,
  createPolicy,
  createRewardModel,
  disposeModel,
  loadCheckpoint,
  miniR1,
  saveCheckpoint,
  scoreRewards,
  selectBackend,
  trainSFT,
} from "@/trainer";
import { createTestDatabase, type TestDatabase } from "../../helpers/db";
import { resetEnvForTests } from "@/server/env";
import { completionHash, comparisonHash, promptHash } from "@/server/data/hash";
import { createJudgeConfig, rubricOf } from "@/server/judges/config";
import { createJudgeRun, getJudgeRun } from "@/server/judges/runs";
import { executeJudgeRun } from "@/server/judges/runner";
import { renderRubric } from "@/server/judges/rubrics";
import { startServeServer, type ServeServer } from "@/server/serve/server";
import { makeProject } from "./fixtures";

let t: TestDatabase;
let dir: string;
let serve: ServeServer;
const MODEL = "judge-micro";

beforeAll(async () => {
  process.env.PAIRWISE_ENCRYPTION_KEY = "test-encryption-key-0123456789abcdef-xyz";
  resetEnvForTests();
  await selectBackend({ force: "wasm", log: () => {} }); // the cpu backend is ~10x slower for training
  t = await createTestDatabase();
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "pw-judge-kinds-"));
  // A micro policy taught to answer judge prompts with "[[A]]" (a judge with total position bias):
  // trained on MT-Bench-rubric prompts like the ones the run will send.
  const tok = BpeTokenizer.bytesOnly();
  const model = createPolicy(
    { vocabSize: tok.vocabSize, contextLength: 64, nLayer: 1, nHead: 2, nEmbd: 32 },
    1,
  );
  const rubric = rubricOf({ rubric: null, settings: {} });
  const data = Array.from({ length: 24 }, (_, i) => ({
    prompt: renderRubric(rubric, {
      question: `Question ${i}: what is ${i} + ${i}?`,
      answer_a: `answer ${i * 7} ${"x".repeat(i % 5)}`,
      answer_b: `answer ${i * 3}`,
    }).messages,
    completion: "[[A]]",
  }));
  await trainSFT({ model, tokenizer: tok, data, config: { steps: 40, lr: 1e-2, batchSize: 8, seed: 1 } });
  await saveCheckpoint(path.join(dir, MODEL), { model, tokenizer: tok });
  disposeModel(model);
  serve = await startServeServer({
    port: 0,
    checkpointPath: path.join(dir, MODEL),
    defaultModel: false,
    database: false,
    backend: "wasm",
    // The rubric is longer than this micro model's 64-token context: serve cuts it from the start
    // when told to (by default it answers 400 context_length_exceeded, as OpenAI does).
    truncatePrompts: true,
    log: () => {},
  });
}, 120_000);

afterAll(async () => {
  await serve?.close();
  await t?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

describe("LLM judge against pairwise serve", () => {
  it("judges a real project through the OpenAI protocol: swap off rules [[A]], swap on finds the bias", async () => {
    const fx = await makeProject(t.prisma, { n: 3 });
    const noSwap = await createJudgeConfig({
      name: "served (no swap)",
      kind: "llm",
      baseUrl: serve.url,
      model: MODEL,
      positionSwap: false,
      maxTokens: 8,
      concurrency: 2,
    });
    const run = await createJudgeRun({ judgeConfigId: noSwap.id, projectId: fx.projectId });
    expect(await executeJudgeRun(run.id, { pollMs: 50 })).toBe("finished");
    const v = await getJudgeRun(run.id);
    expect(v).toMatchObject({ status: "succeeded", done: 3, failed: 0, unparseable: 0 });
    expect(v.promptTokens).toBe(3 * 56); // usage reported by the server: the prompt trimmed to fit 64 - 8 tokens
    expect(v.completionTokens).toBeGreaterThan(0);
    const js = await t.prisma.judgment.findMany({ where: { judgeRunId: run.id } });
    for (const j of js) {
      const p = fx.pairs.find((x) => x.comparisonId === j.comparisonId)!;
      expect(j.verdict).toMatchObject({ outcome: "win", winnerId: p.a }); // "[[A]]" = the first shown = completionIds[0]
      expect(j.confidence).toBeNull(); // pairwise serve returns no logprobs
    }
    const attempts = await t.prisma.judgeAttempt.findMany({ where: { runId: run.id } });
    expect(attempts.every((a) => a.rawReply?.includes("[[A]]"))).toBe(true);

    const swap = await createJudgeConfig({
      name: "served (swap)",
      kind: "llm",
      baseUrl: serve.url,
      model: MODEL,
      maxTokens: 8,
    });
    const run2 = await createJudgeRun({ judgeConfigId: swap.id, projectId: fx.projectId });
    await executeJudgeRun(run2.id, { pollMs: 50 });
    expect(await getJudgeRun(run2.id)).toMatchObject({ done: 3, inconsistent: 3 });
    const ties = await t.prisma.judgment.findMany({ where: { judgeRunId: run2.id } });
    expect(
      ties.every((j) => (j.verdict as { outcome: string }).outcome === "tie" && j.confidence === 0),
    ).toBe(true);
  });
});

async function miniR1Project(rows: Array<{ answer: number | null; texts: string[] }>) {
  const slug = `rule-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const project = await t.prisma.project.create({
    data: { slug, name: slug, labelSchema: { kind: "pairwise", allowBothBad: true } },
  });
  const out: Array<{ id: string; completionIds: string[] }> = [];
  for (const [i, r] of rows.entries()) {
    const text = `Problem ${i}`;
    const ph = promptHash({ text });
    const prompt = await t.prisma.prompt.create({
      data: {
        projectId: project.id,
        contentHash: ph,
        text,
        metadata: r.answer === null ? {} : { task: "miniR1", problem: { id: `p${i}`, answer: r.answer } },
      },
    });
    const cs = [];
    for (const x of r.texts)
      cs.push(
        await t.prisma.completion.create({
          data: { projectId: project.id, promptId: prompt.id, contentHash: completionHash(x), text: x },
        }),
      );
    const c = await t.prisma.comparison.create({
      data: {
        projectId: project.id,
        promptId: prompt.id,
        completionIds: cs.map((c) => c.id),
        contentHash: comparisonHash(
          ph,
          cs.map((c) => c.contentHash),
        ),
        createdAt: new Date(Date.now() + i),
      },
    });
    out.push({ id: c.id, completionIds: c.completionIds });
  }
  return { projectId: project.id, comparisons: out };
}

describe("rule judge", () => {
  it("labels mini-R1 comparisons with the trainer's gold reward, exactly", async () => {
    const problems = miniR1.makeProblems(5, 4, { difficulty: 2 });
    const rng = new Rng(3);
    const good = (i: number) => miniR1.targetCompletion(problems[i]!);
    const wrong = (i: number) => miniR1.noisyCompletion(problems[i]!, rng, "wrong_answer");
    const fx = await miniR1Project([
      { answer: problems[0]!.answer, texts: [wrong(0), good(0)] }, // b wins
      {
        answer: problems[1]!.answer,
        texts: [good(1), miniR1.noisyCompletion(problems[1]!, rng, "no_think")],
      }, // a wins on format
      { answer: problems[2]!.answer, texts: [wrong(2), `${wrong(2)} `.trim() + " "] }, // both wrong: both bad
      {
        answer: problems[3]!.answer,
        texts: [wrong(3), good(3), miniR1.noisyCompletion(problems[3]!, rng, "no_think")],
      }, // ranking
      { answer: null, texts: ["x", "y"] }, // no answer: failed
    ]);
    const cfg = await createJudgeConfig({ name: "rule", kind: "rule" });
    const run = await createJudgeRun({ judgeConfigId: cfg.id, projectId: fx.projectId });
    await executeJudgeRun(run.id);
    const v = await getJudgeRun(run.id);
    expect(v).toMatchObject({ total: 5, done: 4, failed: 1, promptTokens: 0, costUsd: 0 });
    const js = await t.prisma.judgment.findMany({ where: { judgeRunId: run.id } });
    const of = (k: number) => js.find((j) => j.comparisonId === fx.comparisons[k]!.id)!;
    const ids = (k: number) => fx.comparisons[k]!.completionIds;
    expect(of(0).verdict).toMatchObject({ outcome: "win", winnerId: ids(0)[1] });
    expect(of(1).verdict).toMatchObject({ outcome: "win", winnerId: ids(1)[0] });
    expect(of(2).verdict).toEqual({ kind: "pairwise", outcome: "both_bad" });
    expect(of(3).verdict).toEqual({ kind: "ranking", ranking: [[ids(3)[1]], [ids(3)[2]], [ids(3)[0]]] });
    expect(of(0).confidence).toBe(1);
    const failed = await t.prisma.judgeAttempt.findFirstOrThrow({
      where: { runId: run.id, status: "failed" },
    });
    expect(failed.comparisonId).toBe(fx.comparisons[4]!.id);
    expect(failed.error).toMatch(/no programmatic answer/);
  });
});

describe("reward-model judge", () => {
  it("fails the run clearly when the project has no reward checkpoint", async () => {
    const fx = await makeProject(t.prisma, { n: 1 });
    const cfg = await createJudgeConfig({ name: "rm", kind: "reward_model" });
    const run = await createJudgeRun({ judgeConfigId: cfg.id, projectId: fx.projectId });
    expect(await executeJudgeRun(run.id)).toBe("failed");
    expect((await getJudgeRun(run.id)).error).toMatch(/no reward-model checkpoint yet/);
  });

  it("scores both completions with the latest reward checkpoint; confidence σ(r_winner − r_loser)", async () => {
    const fx = await makeProject(t.prisma, { n: 4 });
    const tok = BpeTokenizer.bytesOnly();
    const rmDir = path.join(dir, "rm-1");
    const rm = createRewardModel(
      { vocabSize: tok.vocabSize, contextLength: 64, nLayer: 1, nHead: 2, nEmbd: 16 },
      7,
    );
    await saveCheckpoint(rmDir, { model: rm, tokenizer: tok });
    disposeModel(rm);
    // an older reward checkpoint that must not be used
    await t.prisma.checkpoint.create({
      data: {
        projectId: fx.projectId,
        kind: "reward",
        name: "old",
        path: "/nonexistent",
        createdAt: new Date(Date.now() - 60_000),
      },
    });
    const ck = await t.prisma.checkpoint.create({
      data: { projectId: fx.projectId, kind: "reward", name: "rm-1", path: rmDir },
    });
    const cfg = await createJudgeConfig({ name: "rm", kind: "reward_model" });
    const run = await createJudgeRun({ judgeConfigId: cfg.id, projectId: fx.projectId });
    expect(await executeJudgeRun(run.id)).toBe("finished");
    const loaded = await loadCheckpoint(rmDir);
    const js = await t.prisma.judgment.findMany({ where: { judgeRunId: run.id } });
    expect(js).toHaveLength(4);
    for (const j of js) {
      const p = fx.pairs.find((x) => x.comparisonId === j.comparisonId)!;
      const prompt = (
        await t.prisma.prompt.findFirstOrThrow({ where: { completions: { some: { id: p.a } } } })
      ).text!;
      const [rA, rB] = await scoreRewards(loaded.model, loaded.tokenizer, [
        { prompt, completion: p.aText },
        { prompt, completion: p.bText },
      ]);
      const winner = rA! > rB! ? p.a : p.b;
      expect(j.verdict).toMatchObject({ outcome: "win", winnerId: winner });
      expect(j.confidence).toBeCloseTo(1 / (1 + Math.exp(-Math.abs(rA! - rB!))), 6);
      expect(j.metadata).toMatchObject({ judge: "reward_model", checkpointId: ck.id });
      expect((j.metadata as { pA: number }).pA).toBeCloseTo(1 / (1 + Math.exp(-(rA! - rB!))), 6);
    }
    disposeModel(loaded.model);
  });
});
