// kill -9 of the trainer in the middle of a stage, then a restart: the round continues from that
// stage's last checkpoint and nothing is written twice (checkpoints, metric points, comparisons).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import path from "node:path";
import { promises as fs } from "node:fs";
import { spawn, type ChildProcess } from "node:child_process";
import { createTestDatabase, type TestDatabase } from "@/tests/helpers/db";
import { resetEnvForTests } from "@/server/env";
import { db } from "@/server/db/client";
import { requestRound, roundMetrics, listCheckpoints } from "@/server/training/rounds";
import { makeTrainingProject, seedPairs, tempCheckpointRoot, uniquenessReport } from "./fixtures";

let tdb: TestDatabase;
let root: string;
const ROOT = path.resolve(import.meta.dirname, "../../..");

beforeAll(async () => {
  tdb = await createTestDatabase();
  root = await tempCheckpointRoot();
  process.env.PAIRWISE_CHECKPOINT_DIR = root;
  resetEnvForTests();
});
afterAll(async () => {
  await tdb?.close();
  if (root) await fs.rm(root, { recursive: true, force: true });
});

function startTrainer(roundId: string): { child: ChildProcess; done: Promise<string> } {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "tests/integration/training/round-child.ts"), tdb.url, roundId], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const done = new Promise<string>((resolve) => child.on("exit", (code, signal) => resolve(`${code ?? signal}\n${out}`)));
  return { child, done };
}

/** Waits until the round is in `stage` at training step >= `step`, then SIGKILLs the trainer. */
async function killAt(roundId: string, child: ChildProcess, done: Promise<string>, stage: string, step: number): Promise<{ stage: string; step: number }> {
  let exited = false;
  void done.then(() => (exited = true));
  for (;;) {
    if (exited) throw new Error(`the trainer ended before reaching ${stage} step ${step}: ${await done}`);
    const r = await db().trainingRound.findUniqueOrThrow({ where: { id: roundId }, select: { stage: true, progress: true } });
    const p = r.progress as { stage?: string; step?: number };
    if (r.stage === stage && p.stage === stage && (p.step ?? 0) >= step) {
      child.kill("SIGKILL");
      await done;
      return { stage, step: p.step ?? 0 };
    }
    await new Promise((res) => setTimeout(res, 100));
  }
}

async function savedStep(dir: string): Promise<number | null> {
  const raw = await fs.readFile(path.join(dir, "trainer_state.json"), "utf8").catch(() => null);
  return raw ? (JSON.parse(raw) as { step: number }).step : null;
}

describe("kill -9 and resume", () => {
  it("resumes each interrupted stage from its last checkpoint and duplicates nothing", { timeout: 240_000 }, async () => {
    const project = await makeTrainingProject({ bootstrap: { steps: 10 }, policy: { steps: 8 }, generation: { prompts: 8 } });
    await seedPairs(project.id, 24);
    const { round } = await requestRound({ projectId: project.id, trigger: "manual" });
    const work = (stage: string) => path.join(root, project.id, "round-0001", "work", stage);

    // 1. killed in the bootstrap SFT, after its checkpoint at step 2 or 4
    let t = startTrainer(round.id);
    await killAt(round.id, t.child, t.done, "bootstrap", 5);
    const sftSaved = await savedStep(work("bootstrap"));
    expect(sftSaved).not.toBeNull();
    expect(sftSaved! % 2).toBe(0);

    // 2. restarted at once (the dead trainer's lease is recognised), killed in the policy stage
    t = startTrainer(round.id);
    await killAt(round.id, t.child, t.done, "policy", 5);
    const polSaved = await savedStep(work("policy"));
    expect(polSaved).toBeGreaterThanOrEqual(2);

    // 3. killed while generating comparisons
    t = startTrainer(round.id);
    await killAt(round.id, t.child, t.done, "generate", 3);
    const partial = await db().comparison.count({ where: { roundId: round.id } });

    // 4. runs to the end
    t = startTrainer(round.id);
    const out = await t.done;
    expect(out).toContain("RESULT succeeded");

    const r = await db().trainingRound.findUniqueOrThrow({ where: { id: round.id } });
    expect(r.status).toBe("succeeded");
    expect(r.attempts).toBe(4);
    const res = r.result as Record<string, Record<string, unknown>>;
    expect(res.bootstrap?.["resumed"]).toBe(true);
    expect(res.policy?.["resumed"]).toBe(true);
    expect(res.reward?.["resumed"]).toBe(false);

    // one point per step: the steps redone after a resume did not add rows, none is missing
    const series = await roundMetrics(round.id);
    const steps = (stage: string) => series.find((s) => s.stage === stage && s.name === "loss")?.points.map((p) => p.step);
    expect(steps("bootstrap")).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(steps("policy")).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect((await listCheckpoints(project.id)).map((c) => c.kind).sort()).toEqual(["policy", "reward", "sft"]);
    const comparisons = await db().comparison.count({ where: { roundId: round.id } });
    expect(comparisons).toBeGreaterThanOrEqual(partial);
    expect(await uniquenessReport(project.id)).toEqual({ checkpoints: 0, metrics: 0, comparisons: 0, completions: 0 });
    // every planned prompt (8) sampled once, 2 samples each at most: nothing generated twice
    const completions = await db().completion.count({ where: { projectId: project.id, checkpointId: { not: null } } });
    expect(completions).toBeLessThanOrEqual(8 * 2);
  });
});
