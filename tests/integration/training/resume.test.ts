// kill -9 of the trainer in the middle of a stage, then a restart: the round continues from that
// stage's last checkpoint and nothing is written twice (checkpoints, metric points, comparisons).
import { describe, expect, it } from "vitest";
import path from "node:path";
import { promises as fs } from "node:fs";
import { spawn, type ChildProcess } from "node:child_process";
import { db } from "@/server/db/client";
import { requestRound, roundMetrics, listCheckpoints } from "@/server/training/rounds";
import { makeTrainingProject, seedPairs, uniquenessReport } from "./fixtures";
import { useTrainingEnvironment } from "./environment";

const env = useTrainingEnvironment({ backend: false });
const ROOT = path.resolve(import.meta.dirname, "../../..");

function startTrainer(
  roundId: string,
  killAt?: string,
): { child: ChildProcess; done: Promise<{ code: number | null; signal: string | null; out: string }> } {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      path.join(ROOT, "tests/integration/training/round-child.ts"),
      env.tdb.url,
      roundId,
      ...(killAt ? [killAt] : []),
    ],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const done = new Promise<{ code: number | null; signal: string | null; out: string }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal, out })),
  );
  return { child, done };
}

/** Runs a trainer that kill -9s itself at `stage:step`; asserts it died that way, in that stage. */
async function killedAt(roundId: string, at: string): Promise<void> {
  const r = await startTrainer(roundId, at).done;
  if (r.signal !== "SIGKILL")
    throw new Error(`the trainer was to be killed at ${at} but exited (${r.code}): ${r.out.slice(-2000)}`);
  const row = await db().trainingRound.findUniqueOrThrow({
    where: { id: roundId },
    select: { stage: true, status: true },
  });
  expect(row).toEqual({ stage: at.split(":")[0], status: "running" });
}

async function savedStep(dir: string): Promise<number | null> {
  const raw = await fs.readFile(path.join(dir, "trainer_state.json"), "utf8").catch(() => null);
  return raw ? (JSON.parse(raw) as { step: number }).step : null;
}

describe("kill -9 and resume", () => {
  it(
    "resumes each interrupted stage from its last checkpoint and duplicates nothing",
    { timeout: 240_000 },
    async () => {
      const project = await makeTrainingProject({
        bootstrap: { steps: 10 },
        policy: { steps: 8 },
        generation: { prompts: 8 },
      });
      await seedPairs(project.id, 24);
      const { round } = await requestRound({ projectId: project.id, trigger: "manual" });
      const work = (stage: string) => path.join(env.root, project.id, "round-0001", "work", stage);

      // 1. killed in the bootstrap SFT at step 5, after its checkpoint at step 4
      await killedAt(round.id, "bootstrap:5");
      const sftSaved = await savedStep(work("bootstrap"));
      expect(sftSaved).toBe(4);

      // 2. restarted at once (the dead trainer's lease is recognised), killed in the policy stage
      await killedAt(round.id, "policy:5");
      expect(await savedStep(work("policy"))).toBe(4);

      // 3. killed while generating comparisons (after 3 of 8 prompts)
      await killedAt(round.id, "generate:3");
      const partial = await db().comparison.count({ where: { roundId: round.id } });

      // 4. runs to the end
      const last = await startTrainer(round.id).done;
      expect(last.out).toContain("RESULT succeeded");

      const r = await db().trainingRound.findUniqueOrThrow({ where: { id: round.id } });
      expect(r.status).toBe("succeeded");
      expect(r.attempts).toBe(4);
      const res = r.result as Record<string, Record<string, unknown>>;
      expect(res.bootstrap?.["resumed"]).toBe(true);
      expect(res.policy?.["resumed"]).toBe(true);
      expect(res.reward?.["resumed"]).toBe(false);

      // one point per step: the steps redone after a resume did not add rows, none is missing
      const series = await roundMetrics(round.id);
      const steps = (stage: string) =>
        series.find((s) => s.stage === stage && s.name === "loss")?.points.map((p) => p.step);
      expect(steps("bootstrap")).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(steps("policy")).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect((await listCheckpoints(project.id)).map((c) => c.kind).sort()).toEqual([
        "policy",
        "reward",
        "sft",
      ]);
      const comparisons = await db().comparison.count({ where: { roundId: round.id } });
      expect(comparisons).toBeGreaterThanOrEqual(partial);
      expect(await uniquenessReport(project.id)).toEqual({
        checkpoints: 0,
        metrics: 0,
        comparisons: 0,
        completions: 0,
      });
      // every planned prompt (8) sampled once, 2 samples each at most: nothing generated twice
      const completions = await db().completion.count({
        where: { projectId: project.id, checkpointId: { not: null } },
      });
      expect(completions).toBeLessThanOrEqual(8 * 2);
    },
  );
});
