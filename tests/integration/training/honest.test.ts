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
import { roundPreview } from "@/server/training/preview";
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
    const p = await roundPreview(project.slug);
    expect(p).toMatchObject({
      bootstrap: true,
      willTrain: false,
      overlap: 2,
      pairs: { active: 0, train: 0, minTrainPairs: 8 },
      comparisons: { total: 13, waiting: 13, complete: 0, notJudged: 0 },
      judgments: { human: 13, annotators: 1 },
    });
    expect(p.missing[0]).toBe(
      "13 comparisons have fewer judgments than the overlap (2): a comparison gives pairs once 2 annotators judged it. Only 1 annotator has judged, and each comparison needs 2 different ones: ask more annotators, or lower the project's overlap.",
    );
    expect(p.steps).toEqual([
      "Train the SFT bootstrap: the project has no policy yet.",
      "Freeze a snapshot of the 0 active pairs.",
      "Skip the reward model: only about 0 train pairs (at least 8 needed).",
      "Skip the policy: only about 0 train pairs (at least 8 needed).",
      "Evaluate on the held-out prompts, and ask the project's policy for new comparisons to label.",
    ]);
  });
});

describe("a round with too few pairs", () => {
  it("is skipped with the reason; its stages, gate and lineage agree", async () => {
    const project = await makeTrainingProject({ snapshot: { minTrainPairs: 50 } });
    await seedPairs(project.id, 4);
    const preview = await roundPreview(project.id);
    expect(preview.willTrain).toBe(false);

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
