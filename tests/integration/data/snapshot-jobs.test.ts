// Snapshots as jobs: the row exists from the start with status "building" and its progress, and
// ends "ready" with the same hash and counts as a snapshot made while waiting.
import { afterAll, beforeAll, expect, test } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../helpers/db";
import { recordJudgment } from "@/server/data/judgments";
import { createSnapshot, getSnapshot, startSnapshot } from "@/server/data/snapshots";
import { makeProject, makeUser } from "../annotation/fixtures";

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => t?.close());

test(
  "a snapshot started as a job reports progress and ends as the waited-for one",
  { timeout: 300_000 },
  async () => {
    const fx = await makeProject(t.prisma, { comparisons: 30, overlap: 1 });
    const u = await makeUser(t.prisma, "Snap");
    for (const [i, cid] of fx.comparisonIds.entries()) {
      const ids = fx.completions.get(cid)!;
      await recordJudgment(t.prisma, {
        idempotencyKey: `snap-${i}`,
        comparisonId: cid,
        origin: { kind: "human", userId: u.id },
        verdict: {
          kind: "pairwise",
          outcome: "win",
          winnerId: ids[i % 2]!,
          loserId: ids[(i + 1) % 2]!,
          strength: 1,
        },
      });
    }
    const started = await startSnapshot(t.prisma, fx.projectId, { seed: "s" }, { waitMs: 0 });
    expect(["building", "ready"]).toContain(started.status);
    let s = started;
    for (let i = 0; s.status === "building" && i < 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
      s = await getSnapshot(t.prisma, started.id);
    }
    expect(s.status).toBe("ready");
    expect(s.pairCount).toBe(30);
    expect(s.pairsDone).toBe(30);
    expect(s.error).toBeNull();
    const waited = await createSnapshot(t.prisma, fx.projectId, { seed: "s" });
    expect(waited.status).toBe("ready");
    expect(s.hash).toBe(waited.hash);
    expect([s.trainCount, s.validationCount]).toEqual([waited.trainCount, waited.validationCount]);
    // Progress callbacks: the total first, then the pairs hashed.
    const seen: Array<[number, number]> = [];
    await createSnapshot(t.prisma, fx.projectId, {}, { onProgress: (d, n) => seen.push([d, n]) });
    expect(seen[0]).toEqual([0, 30]);
    expect(seen.at(-1)).toEqual([30, 30]);
    // A bad filter fails before any row is written.
    await expect(startSnapshot(t.prisma, fx.projectId, { validationFraction: 2 })).rejects.toMatchObject({
      code: "bad_request",
    });
  },
);
