// A whole training round, end to end on CPU against a real database: bootstrap SFT, snapshot,
// reward model, DPO, evaluation, gate, generation, rule-judge labels. Then a gate rejection.
import { describe, expect, it } from "vitest";
import path from "node:path";
import { promises as fs } from "node:fs";
import { readCheckpointMeta } from "@/trainer";
import { db } from "@/server/db/client";
import { executeRound } from "@/server/training/engine";
import { requestRound, roundMetrics, listCheckpoints, checkpointProvenance } from "@/server/training/rounds";
import { makeTrainingProject, seedPairs, uniquenessReport } from "./fixtures";
import { useTrainingEnvironment } from "./environment";

const env = useTrainingEnvironment();

describe("a training round", () => {
  it("runs every stage and records checkpoints, metrics, evaluation and new comparisons", async () => {
    const project = await makeTrainingProject();
    const seeded = await seedPairs(project.id, 24);
    expect(seeded).toBe(24);
    const { round, created } = await requestRound({ projectId: project.id, trigger: "manual" });
    expect(created).toBe(true);
    const t0 = Date.now();
    const result = await executeRound(round.id);
    const after = await db().trainingRound.findUniqueOrThrow({
      where: { id: round.id },
      select: { error: true },
    });
    expect({ result, error: after.error }).toEqual({ result: "succeeded", error: null });
    expect(Date.now() - t0).toBeLessThan(60_000);

    const r = await db().trainingRound.findUniqueOrThrow({ where: { id: round.id } });
    expect(r.status).toBe("succeeded");
    expect(r.stage).toBe("done");
    expect(r.backend).toBe("wasm");
    const res = r.result as Record<string, Record<string, unknown>>;
    // Snapshot: frozen, hashed, split by prompt
    expect(res.snapshot?.["pairCount"]).toBe(24);
    expect(String(res.snapshot?.["hash"])).toMatch(/^[0-9a-f]{64}$/);
    const splits = await db().$queryRaw<Array<{ promptId: string; n: number }>>`
      SELECT pp."promptId", count(DISTINCT sp.split)::int AS n FROM "SnapshotPair" sp JOIN "PreferencePair" pp ON pp.id = sp."pairId"
      WHERE sp."snapshotId" = ${r.snapshotId} GROUP BY 1 HAVING count(DISTINCT sp.split) > 1`;
    expect(splits).toEqual([]);

    // Checkpoints: one of each kind, linked to the snapshot, files on disk
    const cks = await listCheckpoints(project.id);
    expect(cks.map((c) => c.kind).sort()).toEqual(["policy", "reward", "sft"]);
    const sft = cks.find((c) => c.kind === "sft")!;
    const rm = cks.find((c) => c.kind === "reward")!;
    const pol = cks.find((c) => c.kind === "policy")!;
    expect(sft.promoted).toBe(true);
    expect(pol.parentId).toBe(sft.id);
    expect(pol.snapshotId).toBe(r.snapshotId);
    expect(rm.snapshotId).toBe(r.snapshotId);
    expect(pol.gateReason).toMatch(/^(promoted|rejected): /);
    for (const c of cks)
      expect((await readCheckpointMeta(path.join(env.root, c.path))).kind).toBe(
        c.kind === "reward" ? "reward" : "policy",
      );

    // Reward model validated on the held-out pairs, compared with nothing before it
    expect(typeof res.reward?.["valAccuracy"]).toBe("number");
    expect(res.reward?.["prevValAccuracy"]).toBeNull();

    // Metrics: exactly one point per step per name (TRL names), for each training stage
    const series = await roundMetrics(round.id);
    const loss = (stage: string) =>
      series.find((s) => s.stage === stage && s.name === "loss")?.points.map((p) => p.step);
    expect(loss("bootstrap")).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(loss("reward")).toEqual([1, 2, 3, 4, 5, 6]);
    expect(loss("policy")).toEqual([1, 2, 3, 4, 5, 6]);
    expect(series.some((s) => s.stage === "policy" && s.name === "rewards/margins")).toBe(true);
    expect(series.some((s) => s.stage === "reward" && s.name === "accuracy")).toBe(true);

    // Reference log-probs cached for every train pair under the reference (the SFT checkpoint)
    const cached = await db().refLogpCache.count({ where: { checkpointId: sft.id } });
    expect(cached).toBe(res.snapshot?.["train"]);

    // Evaluation: gold reward on held-out prompts, win rate, KL, Bradley-Terry rating
    const ev = res.evaluate!;
    expect(ev["heldOut"]).toBe(6);
    expect(ev["heldOutSplit"]).toBe("test");
    expect(typeof ev["goldAccuracy"]).toBe("number");
    expect(typeof ev["winRate"]).toBe("number");
    expect(typeof ev["kl"]).toBe("number");
    expect(typeof ev["rating"]).toBe("number");
    expect((ev["leaderboard"] as unknown[]).length).toBe(2);
    expect(res.gate?.["checkpointId"]).toBe(pol.id);

    // Generation: comparisons from the current policy, with provenance, labeled by the rule judge
    const comps = await db().comparison.findMany({
      where: { roundId: round.id },
      include: { prompt: { select: { split: true } } },
    });
    expect(comps.length).toBeGreaterThan(0);
    for (const c of comps) {
      expect(c.source).toBe("round");
      expect(c.prompt.split).not.toBe("test");
      expect(c.priority).toBeGreaterThanOrEqual(0);
      expect(c.priority).toBeLessThanOrEqual(1);
    }
    const gen = await db().completion.findMany({
      where: { id: { in: comps.flatMap((c) => c.completionIds) } },
    });
    const current = res.gate?.["passed"] ? pol.id : sft.id;
    for (const g of gen) expect(g.checkpointId).toBe(current);
    const judged = await db().judgment.count({
      where: { comparisonId: { in: comps.map((c) => c.id) }, source: "ai" },
    });
    expect(judged).toBe(comps.length);

    // Traceable: the policy checkpoint -> snapshot -> pairs -> judgments (imported here)
    const prov = await checkpointProvenance(pol.id);
    expect(prov.snapshot?.id).toBe(r.snapshotId);
    expect(prov.judgments).toEqual([{ source: "import", by: "import", count: 24 }]);

    expect(await uniquenessReport(project.id)).toEqual({
      checkpoints: 0,
      metrics: 0,
      comparisons: 0,
      completions: 0,
    });
    // Work folders are cleaned up; final checkpoints stay
    await expect(fs.stat(path.join(env.root, project.id, "round-0001", "work"))).rejects.toThrow();
  });

  it.each(["kto", "sft"] as const)("trains the policy with %s too", async (method) => {
    const project = await makeTrainingProject({
      policy: { method },
      generation: { prompts: 2 },
      evaluation: { prompts: 3, klSamples: 2 },
    });
    await seedPairs(project.id, 12);
    const { round } = await requestRound({ projectId: project.id, trigger: "manual" });
    expect(await executeRound(round.id)).toBe("succeeded");
    const r = await db().trainingRound.findUniqueOrThrow({ where: { id: round.id } });
    const policy = (r.result as { policy: Record<string, unknown> }).policy;
    expect(policy["method"]).toBe(method);
    expect(policy["steps"]).toBe(6);
    const series = await roundMetrics(round.id);
    expect(series.find((s) => s.stage === "policy" && s.name === "loss")?.points).toHaveLength(6);
  });

  it("keeps a checkpoint that fails the gate, unpromoted, with the reason", async () => {
    const project = await makeTrainingProject({ gate: { minWinRate: null, maxKl: null, minGoldDelta: 0.5 } });
    await seedPairs(project.id, 16);
    const { round } = await requestRound({ projectId: project.id, trigger: "manual" });
    expect(await executeRound(round.id)).toBe("succeeded");
    const pol = (await listCheckpoints(project.id, { kind: "policy" }))[0]!;
    expect(pol.promoted).toBe(false);
    expect(pol.gateReason).toMatch(/^rejected: gold accuracy [-+]\d\.\d\d < \+0\.50$/);
    const r = await db().trainingRound.findUniqueOrThrow({ where: { id: round.id } });
    const gate = (r.result as { gate: { passed: boolean; reason: string } }).gate;
    expect(gate.passed).toBe(false);
    expect(gate.reason).toBe(pol.gateReason);
    // The files are kept; the project's current policy is still the SFT checkpoint, which generated
    await expect(fs.stat(path.join(env.root, pol.path, "model.safetensors"))).resolves.toBeTruthy();
    const gen = await db().completion.findFirst({
      where: { projectId: project.id, checkpointId: { not: null } },
    });
    const sft = (await listCheckpoints(project.id, { kind: "sft" }))[0]!;
    expect(gen?.checkpointId).toBe(sft.id);
  });
});
