// Schedules and triggers: cron slots, the new-pairs condition, several triggers at once (one
// round, not two), the one-active-round guard in the database, and the trainer service taking a
// "run now" from pg-boss.
import { describe, expect, it } from "vitest";
import { db } from "@/server/db/client";
import { createSnapshot } from "@/server/data/snapshots";
import { getBoss, stopBoss } from "@/server/jobs/boss";
import { requestAndEnqueue } from "@/server/training/jobs";
import { cancelRound, markRoundForRetry, requestRound, type RoundStatus } from "@/server/training/rounds";
import { dueTriggers, fireDueTriggers, newPairsSinceLastRound } from "@/server/training/triggers";
import { startTrainerService } from "@/server/training/service";
import { playground } from "@/server/training/playground-queue";
import { makeTrainingProject, seedPairs } from "./fixtures";
import { useTrainingEnvironment } from "./environment";

const env = useTrainingEnvironment({ beforeClose: stopBoss });

async function until<T>(f: () => Promise<T>, ok: (x: T) => boolean, ms = 90_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const x = await f();
    if (ok(x)) return x;
    if (Date.now() > end) throw new Error(`timed out; last value ${JSON.stringify(x)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Marks a round finished with a snapshot of the pairs there are now (as a real round would leave it). */
async function finish(roundId: string, projectId: string, status: RoundStatus = "succeeded") {
  const snap = await createSnapshot(db(), projectId, {});
  await db().trainingRound.update({
    where: { id: roundId },
    data: { status, snapshotId: snap.id, finishedAt: new Date() },
  });
}

describe("triggers", () => {
  it("fires a cron slot once, and coalesces with an active round", async () => {
    const p = await makeTrainingProject({ schedule: { cron: "* * * * *" } });
    const now = new Date();
    expect((await dueTriggers(now, p.id)).map((t) => t.trigger)).toEqual(["cron"]);
    const [first] = await fireDueTriggers({ now, projectId: p.id });
    expect(first?.created).toBe(true);
    expect(first?.round.trigger).toBe("cron");
    // the slot it fired for is used up
    expect(await dueTriggers(now, p.id)).toEqual([]);
    // the next slot, while the round is still queued: no second round
    const later = new Date(now.getTime() + 60_000);
    const [again] = await fireDueTriggers({ now: later, projectId: p.id });
    expect(again?.created).toBe(false);
    expect(again?.round.id).toBe(first?.round.id);
    expect(await db().trainingRound.count({ where: { projectId: p.id } })).toBe(1);
  });

  it("fires the condition at N new pairs since the last round's snapshot, not after a failure", async () => {
    const p = await makeTrainingProject({ schedule: { minNewPairs: 5 } });
    await seedPairs(p.id, 4, 1);
    expect(await dueTriggers(new Date(), p.id)).toEqual([]);
    await seedPairs(p.id, 6, 1); // the 4 first prompts again (same pairs) + 2 new
    expect(await newPairsSinceLastRound(p.id)).toBe(6);
    const [t] = await dueTriggers(new Date(), p.id);
    expect(t?.trigger).toBe("condition");
    expect(t?.reason).toBe("6 new pairs since the last round (threshold 5)");
    const [r] = await fireDueTriggers({ projectId: p.id });
    await finish(r!.round.id, p.id);
    expect(await newPairsSinceLastRound(p.id)).toBe(0);
    expect(await dueTriggers(new Date(), p.id)).toEqual([]);
    await seedPairs(p.id, 12, 1);
    expect(await newPairsSinceLastRound(p.id)).toBe(6);
    expect((await dueTriggers(new Date(), p.id)).length).toBe(1);
    // a failed last round waits for a person
    const [r2] = await fireDueTriggers({ projectId: p.id });
    await db().trainingRound.update({
      where: { id: r2!.round.id },
      data: { status: "failed", error: "reward: boom" },
    });
    await seedPairs(p.id, 20, 1);
    expect(await dueTriggers(new Date(), p.id)).toEqual([]);
    // ...who retries it: it goes back to the queue at the stage it failed in
    const retried = await markRoundForRetry(r2!.round.id);
    expect(retried.status).toBe("queued");
    expect(retried.error).toBeNull();
  });

  it("makes one round when triggers arrive at once", async () => {
    const p = await makeTrainingProject({ schedule: { cron: "* * * * *", minNewPairs: 1 } });
    await seedPairs(p.id, 3);
    const results = await Promise.all([
      requestRound({ projectId: p.id, trigger: "manual" }),
      requestRound({ projectId: p.id, trigger: "manual" }),
      fireDueTriggers({ projectId: p.id }).then((r) => r[0]!),
      requestRound({ projectId: p.id, trigger: "condition" }),
      fireDueTriggers({ projectId: p.id }).then((r) => r[0]!),
    ]);
    const ids = new Set(results.map((r) => r.round.id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.created).length).toBe(1);
    expect(await db().trainingRound.count({ where: { projectId: p.id } })).toBe(1);
  });

  it("has the database refuse a second active round of a project", async () => {
    const p = await makeTrainingProject();
    const { round } = await requestRound({ projectId: p.id, trigger: "manual" });
    await expect(
      db().trainingRound.create({
        data: { projectId: p.id, number: 99, trigger: "manual", status: "running" },
      }),
    ).rejects.toThrow();
    // a finished or cancelled round does not count
    await cancelRound(round.id);
    const next = await requestRound({ projectId: p.id, trigger: "manual" });
    expect(next.created).toBe(true);
    expect(next.round.number).toBe(2);
  });
});

describe("the trainer service", () => {
  it(
    "takes a run-now from pg-boss and runs it once, however many times it was asked for",
    { timeout: 180_000 },
    async () => {
      const p = await makeTrainingProject({
        bootstrap: { steps: 4 },
        reward: { steps: 2 },
        policy: { steps: 2 },
        generation: { prompts: 2 },
        labeling: { ruleJudge: false },
      });
      await seedPairs(p.id, 8);
      // Rounds the tests above left queued would be picked up first (the start sweep): not this test's subject.
      await db().trainingRound.updateMany({
        where: { status: { in: ["queued", "running"] } },
        data: { status: "cancelled" },
      });
      await db().project.updateMany({ where: { NOT: { id: p.id } }, data: { archived: true } });
      const boss = await getBoss({ connectionString: env.tdb.url });
      const logs: string[] = [];
      const stop = await startTrainerService(boss, "wasm", { log: (m) => logs.push(m) });
      try {
        const asked = await Promise.all(
          [1, 2, 3].map(() => requestAndEnqueue({ projectId: p.id, trigger: "manual" }, boss)),
        );
        expect(new Set(asked.map((a) => a.round.id)).size).toBe(1);
        const id = asked[0]!.round.id;
        const done = await until(
          () => db().trainingRound.findUniqueOrThrow({ where: { id } }),
          (r) => r.status !== "queued" && r.status !== "running",
        );
        expect({ status: done.status, error: done.error }).toEqual({ status: "succeeded", error: null });
        expect(done.attempts).toBe(1);
        expect(done.backend).toBe("wasm");
        expect(await db().checkpoint.count({ where: { roundId: id } })).toBe(3);

        // The playground: the web side asks through pg-boss, the trainer generates from two checkpoints.
        const cks = await db().checkpoint.findMany({
          where: { roundId: id, kind: { in: ["sft", "policy"] } },
          orderBy: { kind: "asc" },
        });
        const out = await playground({
          prompt: "Ana has 5 apples. Ana buys 3 more. How many apples does Ana have now?",
          checkpointIds: cks.map((c) => c.id),
          maxTokens: 12,
        });
        expect(out.completions.map((c) => c.name)).toEqual(cks.map((c) => c.name));
        for (const c of out.completions) expect(c.tokens).toBeGreaterThan(0);
        await expect(
          playground({
            prompt: "x",
            checkpointIds: [
              (await db().checkpoint.findFirstOrThrow({ where: { roundId: id, kind: "reward" } })).id,
            ],
          }),
        ).rejects.toThrow(/reward model/);
      } finally {
        await stop();
      }
      expect(logs.some((l) => l.includes("training service ready"))).toBe(true);
    },
  );
});
