// The demo project, unattended: its first round bootstraps a policy and asks for comparisons,
// simulated annotators (overlap 2, noisy) and the rule judge label them, and the new pairs
// trigger the next round by themselves, which trains the reward model and the policy on them.
import { describe, expect, it } from "vitest";
import { db } from "@/server/db/client";
import { seedDemo } from "@/server/seed/demo";
import { executeRound } from "@/server/training/engine";
import { checkpointProvenance, requestRound, updateTrainingSettings } from "@/server/training/rounds";
import { fireDueTriggers } from "@/server/training/triggers";
import { mergeSettings } from "@/server/training/settings";
import { MICRO } from "./fixtures";
import { useTrainingEnvironment } from "./environment";

useTrainingEnvironment();

describe("the demo project", () => {
  it(
    "runs rounds unattended: labels by simulated annotators and the rule judge, next round by the new-pairs trigger",
    { timeout: 240_000 },
    async () => {
      await seedDemo(db());
      const demo = await db().project.findUniqueOrThrow({ where: { slug: "mini-r1" } });
      expect(demo.overlap).toBe(2);
      // What an admin sets on the training page: unattended labeling, run at 10 new pairs.
      await updateTrainingSettings(
        demo.id,
        mergeSettings(MICRO, {
          labeling: { ruleJudge: true, simulatedAnnotators: 2, noise: 0.1 },
          schedule: { minNewPairs: 10 },
          generation: { prompts: 8 },
        }),
      );
      const [first] = await fireDueTriggers({ projectId: demo.id });
      expect(first).toBeUndefined(); // no pairs yet: nothing is due
      const round1 = (await requestRound({ projectId: demo.id, trigger: "manual" })).round;
      // no pairs before the first round: only the bootstrap trains, so the round says "skipped"
      expect(await executeRound(round1.id)).toBe("skipped");
      const res1 = (await db().trainingRound.findUniqueOrThrow({ where: { id: round1.id } }))
        .result as Record<string, Record<string, unknown>>;
      expect(res1.bootstrap?.["checkpointId"]).toBeTruthy();
      expect(String(res1.reward?.["skipped"])).toMatch(/train pair/); // nothing labeled before the first round
      const labeled = res1.generate?.["labeled"] as {
        simulated: { judgments: number };
        ruleJudge: { judged: number };
        pairs: number;
      };
      expect(labeled.simulated.judgments).toBeGreaterThan(0);
      expect(labeled.ruleJudge.judged).toBeGreaterThan(0);
      // the 40 seeded comparisons (target vs flawed answer) got 2 noisy human votes each; most agree
      const pairs = await db().preferencePair.count({ where: { projectId: demo.id, active: true } });
      expect(pairs).toBeGreaterThanOrEqual(10);
      const humans = await db().judgment.count({ where: { projectId: demo.id, source: "human" } });
      expect(humans % 2).toBe(0);

      // the trigger fires on its own, and the round it starts trains on the labels
      const fired = await fireDueTriggers({ projectId: demo.id });
      expect(fired).toHaveLength(1);
      expect(fired[0]?.created).toBe(true);
      expect(fired[0]?.round.trigger).toBe("condition");
      expect(await executeRound(fired[0]!.round.id)).toBe("succeeded");
      const r2 = await db().trainingRound.findUniqueOrThrow({ where: { id: fired[0]!.round.id } });
      const res2 = r2.result as Record<string, Record<string, unknown>>;
      expect(res2.reward?.["checkpointId"]).toBeTruthy();
      expect(res2.policy?.["checkpointId"]).toBeTruthy();
      expect(typeof res2.evaluate?.["goldAccuracy"]).toBe("number");
      // provenance: the policy's pairs came from the simulated people
      const prov = await checkpointProvenance(res2.policy?.["checkpointId"] as string);
      expect(prov.judgments.some((j) => j.source === "human" && j.by.startsWith("sim-annotator-"))).toBe(
        true,
      );
    },
  );
});
