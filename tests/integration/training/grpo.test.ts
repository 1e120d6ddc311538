// A GRPO round through the real database: a sorting project bootstraps SFT, then its policy stage
// runs GRPO on a mix of environments (sorting + tic-tac-toe) instead of preference optimisation;
// rollouts are stored as completions, a sample goes to annotators as comparisons, progress has
// reward / accuracy / KL / length per step, and evaluation reports every environment's held-out
// score (games: win/draw/loss per opponent). Then kill -9 in the middle of the GRPO stage and a
// restart: the stage resumes from its checkpoint and nothing is written twice.
import { describe, expect, it } from "vitest";
import path from "node:path";
import { spawn } from "node:child_process";
import { PassThrough } from "node:stream";
import { main as cli } from "@/server/cli/index";
import { db } from "@/server/db/client";
import { executeRound } from "@/server/training/engine";
import { roundRollouts } from "@/server/training/overview";
import { requestRound, roundMetrics, listCheckpoints } from "@/server/training/rounds";
import type { TrainingSettingsInput } from "@/server/training/settings";
import { makeTrainingProject, uniquenessReport } from "./fixtures";
import { useTrainingEnvironment } from "./environment";

const env = useTrainingEnvironment();
const ROOT = path.resolve(import.meta.dirname, "../../..");

const GRPO: TrainingSettingsInput = {
  task: "sorting",
  taskOptions: { trainPrompts: 40, heldOutPrompts: 4, difficulty: 1, sftShare: 0.5 },
  policy: { method: "grpo" },
  grpo: {
    environments: [
      { name: "sorting", weight: 1 },
      { name: "tictactoe", weight: 1, difficulty: 1 },
    ],
    prompts: 8,
    steps: 4,
    promptsPerStep: 2,
    numGenerations: 3,
    numIterations: 2,
    maxCompletionLength: 16,
    lr: 1e-3,
    beta: 0.04,
    reviewSample: 3,
  },
  evaluation: {
    prompts: 4,
    maxTokens: 16,
    klSamples: 2,
    environments: ["code"],
    environmentPrompts: 2,
    games: 2,
  },
  generation: { prompts: 2, samplesPerPrompt: 2, maxTokens: 12 },
  checkpointEvery: 2,
};

describe("GRPO round", () => {
  it(
    "trains on environments, stores rollouts, reports per-step metrics and every environment's score",
    { timeout: 600_000 },
    async () => {
      const project = await makeTrainingProject(GRPO);
      const { round } = await requestRound({ projectId: project.id, trigger: "manual" });
      expect(await executeRound(round.id)).toBe("succeeded");
      const r = await db().trainingRound.findUniqueOrThrow({ where: { id: round.id } });
      const res = r.result as Record<string, Record<string, unknown>>;
      expect(res.policy).toMatchObject({ method: "grpo", steps: 4, numGenerations: 3, resumed: false });
      expect(res.policy?.["trainPrompts"]).toBe(8);
      // 2 generation batches (4 steps / μ=2) x 2 prompts x 3 completions, minus duplicate texts
      const rollouts = await db().completion.findMany({
        where: { projectId: project.id, modelName: `${project.slug}-r1-grpo` },
        select: { metadata: true, prompt: { select: { metadata: true } } },
      });
      expect(rollouts.length).toBe(res.policy?.["rolloutsStored"]);
      expect(rollouts.length).toBeGreaterThan(0);
      expect(rollouts.length).toBeLessThanOrEqual(12);
      for (const c of rollouts) {
        const g = (c.metadata as { grpo: { reward: number; advantage: number; env: string } }).grpo;
        expect(Number.isFinite(g.reward) && Number.isFinite(g.advantage)).toBe(true);
        expect((c.prompt.metadata as { task: string }).task).toBe(g.env);
      }
      // browsable, page by page, as the training page lists them
      const page = await roundRollouts(round.id, { take: 5 });
      expect(page.total).toBe(rollouts.length);
      expect(page.rows.length).toBe(Math.min(5, rollouts.length));
      expect(["sorting", "tictactoe"]).toContain(page.rows[0]?.env);
      expect(page.rows[0]?.prompt.length).toBeGreaterThan(0);
      // the tic-tac-toe prompts were added to the project for it
      expect(
        await db().prompt.count({
          where: { projectId: project.id, metadata: { path: ["task"], equals: "tictactoe" } },
        }),
      ).toBe(4);
      const review = await db().comparison.count({
        where: { roundId: round.id, metadata: { path: ["grpoReview"], equals: true } },
      });
      expect(review).toBe(res.policy?.["reviewComparisons"]);

      const series = await roundMetrics(round.id);
      const steps = (name: string) =>
        series.find((s) => s.stage === "policy" && s.name === name)?.points.map((p) => p.step);
      for (const name of [
        "loss",
        "reward",
        "reward_std",
        "frac_reward_zero_std",
        "accuracy",
        "kl",
        "completions/mean_length",
        "clip_ratio/region_mean",
      ])
        expect(steps(name), name).toEqual([1, 2, 3, 4]);

      // evaluation: the task (gold accuracy), the GRPO environments and the extra one, games per opponent
      const envs = res.evaluate?.["environments"] as Record<
        string,
        {
          n: number;
          accuracy: number;
          games?: { opponent: string; games: number; win: number; draw: number; loss: number }[];
        }
      >;
      expect(Object.keys(envs).sort()).toEqual(["code", "sorting", "tictactoe"]);
      expect(envs.sorting?.n).toBe(4);
      expect(envs.code?.n).toBe(2);
      const games = envs.tictactoe?.games ?? [];
      expect(games.map((g) => g.opponent)).toEqual(["perfect", "random"]);
      for (const g of games) expect(g.win + g.draw + g.loss).toBe(2);
      const evalNames = series.filter((s) => s.stage === "evaluate").map((s) => s.name);
      expect(evalNames).toEqual(
        expect.arrayContaining([
          "env/code/accuracy",
          "env/tictactoe/perfect/loss",
          "env/tictactoe/random/win",
        ]),
      );
      // cached on the checkpoint
      const ck = await db().checkpoint.findUniqueOrThrow({
        where: { id: res.policy?.["checkpointId"] as string },
      });
      expect(Object.keys((ck.metrics as { envEval: { scores: object } }).envEval.scores).sort()).toEqual([
        "code",
        "tictactoe",
      ]);
      expect((await listCheckpoints(project.id)).map((c) => c.kind).sort()).toEqual(["policy", "sft"]);
    },
  );

  it("resumes after kill -9 in the GRPO stage and writes nothing twice", { timeout: 600_000 }, async () => {
    const project = await makeTrainingProject({ ...GRPO, grpo: { ...GRPO.grpo, reviewSample: 0 } });
    const { round } = await requestRound({ projectId: project.id, trigger: "manual" });
    const run = (killAt?: string) => {
      const child = spawn(
        process.execPath,
        [
          "--import",
          "tsx",
          path.join(ROOT, "tests/integration/training/round-child.ts"),
          env.tdb.url,
          round.id,
          ...(killAt ? [killAt] : []),
        ],
        { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
      );
      let out = "";
      child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
      return new Promise<{ signal: string | null; out: string }>((resolve) =>
        child.on("exit", (_c, signal) => resolve({ signal, out })),
      );
    };
    const killed = await run("policy:3"); // after the checkpoint at step 2, inside the second batch
    expect(killed.signal, killed.out.slice(-2000)).toBe("SIGKILL");
    const before = await db().completion.count({
      where: { projectId: project.id, modelName: `${project.slug}-r1-grpo` },
    });
    expect(before).toBeGreaterThan(0);
    const last = await run();
    expect(last.out).toContain("RESULT succeeded");
    const r = await db().trainingRound.findUniqueOrThrow({ where: { id: round.id } });
    const res = r.result as Record<string, Record<string, unknown>>;
    expect(res.policy).toMatchObject({ method: "grpo", steps: 4, resumed: true });
    const series = await roundMetrics(round.id);
    expect(
      series.find((s) => s.stage === "policy" && s.name === "reward")?.points.map((p) => p.step),
    ).toEqual([1, 2, 3, 4]);
    expect(await uniquenessReport(project.id)).toEqual({
      checkpoints: 0,
      metrics: 0,
      comparisons: 0,
      completions: 0,
    });
    // the resumed stage re-sampled the same seeded batch: no rollout beyond what one run stores
    const after = await db().completion.count({
      where: { projectId: project.id, modelName: `${project.slug}-r1-grpo` },
    });
    expect(after).toBeLessThanOrEqual(12);
    expect(after).toBeGreaterThanOrEqual(before);
  });

  it(
    "runs from the CLI: pairwise train <project> --here --method grpo --env sorting",
    { timeout: 600_000 },
    async () => {
      const project = await makeTrainingProject({ ...GRPO, policy: { method: "dpo" } });
      const out = new PassThrough();
      const err = new PassThrough();
      let text = "";
      out.on("data", (d: Buffer) => (text += d.toString()));
      err.resume();
      const code = await cli(
        ["train", project.slug, "--here", "--method", "grpo", "--env", "sorting", "--steps", "2"],
        {
          stdout: out,
          stderr: err,
          stdin: new PassThrough(),
        },
      );
      expect(code, text).toBe(0);
      expect(text).toMatch(/round 1: succeeded/);
      const r = await db().trainingRound.findFirstOrThrow({ where: { projectId: project.id } });
      const res = r.result as Record<string, Record<string, unknown>>;
      expect(res.policy).toMatchObject({
        method: "grpo",
        steps: 2,
        environments: [{ name: "sorting", weight: 1, difficulty: 1 }],
      });
    },
  );
});
