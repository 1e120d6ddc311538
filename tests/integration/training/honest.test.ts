// Honest round states: before a round, what it will do and why pairs are missing; a round with too
// few pairs is "skipped" (not "succeeded") with the reason, its stages say which were skipped and
// why, and the gate agrees with the lineage (the checkpoints' promoted flags).
import { describe, expect, it } from "vitest";
import { db } from "@/server/db/client";
import { completionHash, comparisonHash, promptHash } from "@/server/data/hash";
import { recordJudgment } from "@/server/data/judgments";
import { executeRound } from "@/server/training/engine";
import { getRoundOrThrow, listCheckpoints, requestRound } from "@/server/training/rounds";
import { trainingOverview } from "@/server/training/overview";
import { roundPreflight } from "@/server/training/preflight";
import { makeTrainingProject, seedPairs } from "./fixtures";
import { useTrainingEnvironment } from "./environment";

useTrainingEnvironment();

describe("before a round", () => {
  it("says why 13 judgments by one annotator at overlap 2 make no pair, and that the round will not train", async () => {
    const project = await makeTrainingProject({ snapshot: { minTrainPairs: 8 } }, { overlap: 2 });
    const ann = await db().user.create({
      data: { email: "solo@example.com", name: "Solo", role: "annotator" },
    });
    for (let i = 0; i < 13; i++) {
      const text = `What is ${i} + 1?`;
      const pr = await db().prompt.create({
        data: { projectId: project.id, text, contentHash: promptHash({ text }) },
      });
      const texts = [`${i + 1}`, `${i + 2}`];
      const ids: string[] = [];
      for (const t of texts)
        ids.push(
          (
            await db().completion.create({
              data: {
                projectId: project.id,
                promptId: pr.id,
                text: t,
                contentHash: completionHash(t),
                modelName: "m",
              },
            })
          ).id,
        );
      const cmp = await db().comparison.create({
        data: {
          projectId: project.id,
          promptId: pr.id,
          completionIds: ids,
          contentHash: comparisonHash(pr.contentHash, texts.map(completionHash)),
        },
      });
      await recordJudgment(db(), {
        idempotencyKey: `solo:${i}`,
        comparisonId: cmp.id,
        origin: { kind: "human", userId: ann.id },
        verdict: { kind: "pairwise", outcome: "win", winnerId: ids[0]!, loserId: ids[1]!, strength: 1 },
      });
    }
    const p = await roundPreflight(project.slug);
    expect(p).toMatchObject({
      bootstrap: true,
      trains: false,
      pairs: 0,
      trainPairs: 0,
      minTrainPairs: 8,
      refusal: null, // the bootstrap still trains
      counts: { comparisons: 13, waitingForOverlap: 13, unjudged: 0, annotators: 1, overlap: 2 },
    });
    expect(p.missing.slice(0, 2)).toEqual([
      "13 comparisons have judgments but fewer than the 2 (the project's overlap) a comparison needs before it makes pairs.",
      "Only 1 annotator has judged, and nobody judges the same comparison twice: with overlap 2, 2 different people must judge each comparison. Invite more annotators, or lower the overlap in the project's settings.",
    ]);
    expect(p.plan.slice(0, 3)).toEqual([
      "Bootstrap: train a tokenizer and a first SFT policy on the project's prompts.",
      "Snapshot: freeze 0 preference pairs (0 for training).",
      "Reward model and policy: skipped (only 0 train pairs; at least 8 needed).",
    ]);
  });
});

describe("a round with too few pairs", () => {
  it("is skipped with the reason; its stages, gate and lineage agree", async () => {
    const project = await makeTrainingProject({ snapshot: { minTrainPairs: 50 } });
    await seedPairs(project.id, 4);
    const plan = await roundPreflight(project.id);
    expect(plan.trains).toBe(false);

    const { round } = await requestRound({ projectId: project.id, trigger: "manual" });
    expect(await executeRound(round.id)).toBe("skipped");
    const r = await getRoundOrThrow(round.id);
    expect(r.status).toBe("skipped");
    const few = /^only \d train pairs? \(at least 50 needed; label more comparisons\)$/;
    expect(r.stages.map((s) => [s.stage, s.status])).toEqual([
      ["bootstrap", "done"],
      ["snapshot", "done"],
      ["reward", "skipped"],
      ["policy", "skipped"],
      ["evaluate", "done"],
      ["gate", "done"],
      ["generate", "done"],
    ]);
    expect(r.stages.find((s) => s.stage === "reward")!.reason).toMatch(few);
    expect(r.result.outcome).toEqual({
      status: "skipped",
      reason: expect.stringMatching(
        /^No reward model or policy was trained: only \d train pairs? \(at least 50 needed; label more comparisons\)\. The round trained the SFT bootstrap, now the project's policy/,
      ),
    });
    // the gate names what the lineage shows promoted: this round's SFT bootstrap
    const sft = (await listCheckpoints(project.id, { kind: "sft" }))[0]!;
    expect(sft.promoted).toBe(true);
    expect(r.result.gate).toMatchObject({ passed: true, decision: "bootstrap", checkpointId: sft.id });
    expect(r.result.gate!.reason).toMatch(
      /^promoted: the SFT bootstrap .*\(no policy was trained on pairs: only/,
    );
    expect(await listCheckpoints(project.id, { kind: "policy" })).toEqual([]);

    // a second round, the policy there already: nothing to promote, and the summary does not say promoted
    const second = (await requestRound({ projectId: project.id, trigger: "manual" })).round;
    expect(await executeRound(second.id)).toBe("skipped");
    const r2 = await getRoundOrThrow(second.id);
    expect(r2.result.gate).toMatchObject({
      passed: false,
      decision: "nothing_to_promote",
      checkpointId: null,
    });
    expect(r2.stages.find((s) => s.stage === "bootstrap")).toMatchObject({
      status: "skipped",
      reason: expect.stringMatching(/^the project has a policy already/),
    });
    expect(r2.stages.find((s) => s.stage === "gate")).toMatchObject({
      status: "skipped",
      reason: expect.stringMatching(/^nothing to promote: only/),
    });
    expect((await listCheckpoints(project.id)).filter((c) => c.roundId === second.id && c.promoted)).toEqual(
      [],
    );
    const overview = await trainingOverview(project.id);
    const summary = overview.perRound.find((x) => x.id === second.id)!;
    expect(summary).toMatchObject({ status: "skipped", promoted: null });
    expect(overview.perRound.find((x) => x.id === round.id)).toMatchObject({
      status: "skipped",
      promoted: true,
    });
  }, 600_000);
});
