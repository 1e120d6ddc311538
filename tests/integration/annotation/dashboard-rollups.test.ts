// The dashboards from rollups (server/annotation/rollups.ts) against the row-level definitions in
// dashboard-stats.ts, computed here from every judgment row as the dashboard used to: random
// pairwise and K-way projects with gold, corrections, AI judgments, adjudications, a bulk import
// written around recordJudgment, and a project whose rollups are rebuilt from nothing (data from
// before the rollups existed).
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { PrismaClient } from "@prisma/client";
import { createTestDatabase, type TestDatabase } from "../../helpers/db";
import { leaderboard, projectDashboard } from "@/server/annotation/dashboard";
import {
  annotatorStats,
  battles,
  projectAgreement,
  throughput,
  type VoteRow,
} from "@/server/annotation/dashboard-stats";
import { recordJudgment } from "@/server/data/judgments";
import { Verdict } from "@/server/data/verdict";
import { bradleyTerryLeaderboard, createRng } from "@/server/stats";
import { makeProject, makeUser } from "./fixtures";

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => t?.close());

/** The dashboard's old loader: every standing human judgment with its comparison. */
async function loadVotes(db: PrismaClient, projectId: string): Promise<VoteRow[]> {
  const rows = await db.judgment.findMany({
    where: { projectId, source: "human", supersededAt: null, userId: { not: null } },
    include: { comparison: { select: { completionIds: true } } },
    orderBy: [{ createdAt: "asc" }, { id: "asc" }],
  });
  return rows.flatMap((r) => {
    const v = Verdict.safeParse(r.verdict);
    if (!v.success || !r.userId) return [];
    return [
      {
        judgmentId: r.id,
        comparisonId: r.comparisonId,
        completionIds: r.comparison.completionIds,
        userId: r.userId,
        verdict: v.data,
        displayOrder: r.displayOrder,
        timeSpentMs: r.timeSpentMs,
        isGoldCheck: r.isGoldCheck,
        goldCorrect: r.goldCorrect,
        createdAt: r.createdAt,
      },
    ];
  });
}

async function reference(db: PrismaClient, projectId: string, now: Date, tz: number) {
  const project = await db.project.findUniqueOrThrow({ where: { id: projectId } });
  const votes = await loadVotes(db, projectId);
  const completions = await db.completion.findMany({ where: { projectId } });
  const lengths = new Map(completions.map((c) => [c.id, c.text.length]));
  return {
    throughput: throughput(
      votes.map((v) => v.createdAt),
      { now, days: 30, tzOffsetMinutes: tz },
    ),
    agreement: projectAgreement(votes, project.overlap),
    annotators: annotatorStats(votes, lengths),
  };
}

async function referenceBoard(db: PrismaClient, projectId: string, sources: string[]) {
  const rows = await db.judgment.findMany({
    where: { projectId, supersededAt: null, source: { in: sources as never } },
    select: { verdict: true, comparison: { select: { completionIds: true, isGold: true } } },
  });
  const completions = await db.completion.findMany({ where: { projectId } });
  const sourceOf = new Map(completions.map((c) => [c.id, c.modelName]));
  const parsed = rows.flatMap((r) => {
    if (r.comparison.isGold) return [];
    const v = Verdict.safeParse(r.verdict);
    return v.success ? [{ verdict: v.data, completionIds: r.comparison.completionIds }] : [];
  });
  const list = battles(parsed, sourceOf);
  return { battles: list.length, board: list.length ? bradleyTerryLeaderboard(list, { rounds: 0 }) : null };
}

function expectSame(
  got: Awaited<ReturnType<typeof projectDashboard>>,
  want: Awaited<ReturnType<typeof reference>>,
) {
  expect(got.throughput).toEqual(want.throughput);
  const close = (a: number | null, b: number | null) => {
    if (a === null || b === null) expect(a).toBe(b);
    else expect(a).toBeCloseTo(b, 12);
  };
  close(got.agreement.alpha, want.agreement.alpha);
  close(got.agreement.kappa, want.agreement.kappa);
  close(got.agreement.pairwiseAgreement, want.agreement.pairwiseAgreement);
  expect(got.agreement.alphaUnits).toBe(want.agreement.alphaUnits);
  expect(got.agreement.alphaRatings).toBeCloseTo(want.agreement.alphaRatings, 9);
  expect(got.agreement.kappaUnits).toBe(want.agreement.kappaUnits);
  expect(got.annotators.map((a) => a.userId)).toEqual(want.annotators.map((a) => a.userId));
  want.annotators.forEach((w, i) => {
    const g = got.annotators[i]!;
    expect(g.items).toBe(w.items);
    expect(g.medianSeconds).toBe(w.medianSeconds);
    expect(g.gold).toEqual(w.gold);
    expect(g.agreement.comparisons).toBe(w.agreement.comparisons);
    close(g.agreement.rate, w.agreement.rate);
    expect(g.positionBias).toEqual(w.positionBias);
    expect(g.lengthBias).toEqual(w.lengthBias);
  });
}

describe("dashboards from rollups equal the row-level figures", () => {
  test(
    "pairwise with gold, corrections, AI, adjudication, a bulk import, and a rebuild from nothing",
    { timeout: 300_000 },
    async () => {
      const rng = createRng(19);
      const fx = await makeProject(t.prisma, {
        comparisons: 24,
        gold: 4,
        overlap: 3,
        models: ["alpha", "beta", "gamma"],
        texts: (i, j) => `Answer ${j} to ${i}: ${"word ".repeat(1 + ((i * 7 + j * 3) % 9))}`,
      });
      const users = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => makeUser(t.prisma, `R${i}`)));
      const now = new Date("2026-12-04T12:00:00Z");
      const all = [...fx.comparisonIds, ...fx.goldIds];
      const written: Array<{ id: string; comparisonId: string; userId: string }> = [];
      let n = 0;
      for (const cid of all) {
        const ids = fx.completions.get(cid)!;
        const start = Math.floor(rng() * users.length);
        for (let k = 0; k < 3; k++) {
          const u = users[(start + k * 2) % users.length]!;
          const r = rng();
          const verdict =
            r < 0.1
              ? { kind: "pairwise" as const, outcome: "tie" as const }
              : r < 0.15
                ? { kind: "pairwise" as const, outcome: "both_bad" as const }
                : r < 0.6
                  ? {
                      kind: "pairwise" as const,
                      outcome: "win" as const,
                      winnerId: ids[0]!,
                      loserId: ids[1]!,
                      strength: 1 as const,
                    }
                  : {
                      kind: "pairwise" as const,
                      outcome: "win" as const,
                      winnerId: ids[1]!,
                      loserId: ids[0]!,
                      strength: 2 as const,
                    };
          const res = await recordJudgment(t.prisma, {
            idempotencyKey: `rollup-${n++}`,
            comparisonId: cid,
            origin: { kind: "human", userId: u.id },
            verdict,
            displayOrder: rng() < 0.5 ? [...ids] : [...ids].reverse(),
            timeSpentMs: rng() < 0.1 ? undefined : Math.floor(rng() * 40_000),
            now: new Date(now.getTime() - Math.floor(rng() * 20 * 86_400_000)),
          });
          written.push({ id: res.judgment.id, comparisonId: cid, userId: u.id });
        }
      }
      // Corrections by their authors.
      for (const w of written.filter((_, i) => i % 11 === 3)) {
        const ids = fx.completions.get(w.comparisonId)!;
        await recordJudgment(t.prisma, {
          idempotencyKey: `fix-${w.id}`,
          comparisonId: w.comparisonId,
          origin: { kind: "human", userId: w.userId },
          verdict: { kind: "pairwise", outcome: "win", winnerId: ids[1]!, loserId: ids[0]!, strength: 1 },
          supersedesId: w.id,
          displayOrder: [...ids],
          timeSpentMs: 1234,
          now,
        });
      }
      // An AI judge and a reviewer.
      for (const cid of fx.comparisonIds.slice(0, 6)) {
        const ids = fx.completions.get(cid)!;
        await recordJudgment(t.prisma, {
          idempotencyKey: `ai-${cid}`,
          comparisonId: cid,
          origin: { kind: "ai", judgeConfigId: "judge-1" },
          verdict: { kind: "pairwise", outcome: "win", winnerId: ids[0]!, loserId: ids[1]!, strength: 1 },
          now,
        });
      }
      const reviewer = await makeUser(t.prisma, "Reviewer", "reviewer");
      const cid0 = fx.comparisonIds[7]!;
      const ids0 = fx.completions.get(cid0)!;
      await recordJudgment(t.prisma, {
        idempotencyKey: "adj-1",
        comparisonId: cid0,
        origin: { kind: "adjudication", userId: reviewer.id },
        verdict: { kind: "pairwise", outcome: "win", winnerId: ids0[1]!, loserId: ids0[0]!, strength: 1 },
        now,
      });
      // A bulk import writes around recordJudgment and marks its comparisons for a recount.
      const cid1 = fx.comparisonIds[9]!;
      const ids1 = fx.completions.get(cid1)!;
      await t.prisma.$executeRawUnsafe(
        `INSERT INTO "Judgment" (id, "idempotencyKey", "projectId", "comparisonId", source, verdict, "displayOrder")
       VALUES ('imported-1', 'imported-1', $1, $2, 'import', $3::jsonb, '{}')`,
        fx.projectId,
        cid1,
        JSON.stringify({
          kind: "pairwise",
          outcome: "win",
          winnerId: ids1[0],
          loserId: ids1[1],
          strength: 1,
        }),
      );
      await t.prisma.$executeRawUnsafe(`UPDATE "Comparison" SET "rolledUp" = false WHERE id = $1`, cid1);

      for (const tz of [0, -330, 480]) {
        const got = await projectDashboard(t.prisma, fx.projectId, { now, tzOffsetMinutes: tz });
        expectSame(got, await reference(t.prisma, fx.projectId, now, tz));
      }
      const counts = await t.prisma.comparison.groupBy({
        by: ["status"],
        where: { projectId: fx.projectId },
        _count: { _all: true },
      });
      const d = await projectDashboard(t.prisma, fx.projectId, { now });
      for (const c of counts) expect(d.summary!.comparisons[c.status]).toBe(c._count._all);
      expect(d.summary!.judgments.human).toBe(
        await t.prisma.judgment.count({
          where: { projectId: fx.projectId, source: "human", supersededAt: null },
        }),
      );
      expect(d.summary!.activePairs).toBe(
        await t.prisma.preferencePair.count({ where: { projectId: fx.projectId, active: true } }),
      );

      for (const [origin, sources] of [
        ["human", ["human", "adjudication"]],
        ["ai", ["ai"]],
        ["all", ["human", "adjudication", "ai", "import"]],
      ] as const) {
        const got = await leaderboard(t.prisma, fx.projectId, { origin });
        const want = await referenceBoard(t.prisma, fx.projectId, [...sources]);
        expect(got.battles).toBe(want.battles);
        expect(got.rows.map((r) => r.source)).toEqual(want.board!.rows.map((r) => r.source));
        want.board!.rows.forEach((w, i) => {
          const g = got.rows[i]!;
          expect(g.rating).toBeCloseTo(w.rating, 6);
          expect([g.battles, g.wins, g.losses, g.ties]).toEqual([w.battles, w.wins, w.losses, w.ties]);
          expect(g.lower).toBeLessThanOrEqual(g.upper);
        });
      }

      // Data from before the rollups: nothing counted, every comparison marked; the first read
      // counts everything.
      await t.prisma.$executeRawUnsafe(
        `UPDATE "Comparison" SET "rolledUp" = false, "rolledIds" = '{}' WHERE "projectId" = $1`,
        fx.projectId,
      );
      await t.prisma.$executeRawUnsafe(
        `DELETE FROM "StatDelta" WHERE "projectId" = $1 AND key ~ '^[audtb][|]'`,
        fx.projectId,
      );
      await t.prisma.$executeRawUnsafe(
        `DELETE FROM "StatCell" WHERE "projectId" = $1 AND key ~ '^[audtb][|]'`,
        fx.projectId,
      );
      expectSame(
        await projectDashboard(t.prisma, fx.projectId, { now }),
        await reference(t.prisma, fx.projectId, now, 0),
      );
      const again = await leaderboard(t.prisma, fx.projectId, { origin: "all" });
      expect(again.battles).toBe(
        (await referenceBoard(t.prisma, fx.projectId, ["human", "adjudication", "ai", "import"])).battles,
      );
    },
  );

  test("K-way rankings: every ranked pair is a unit; partial rankings and tied groups", async () => {
    const rng = createRng(7);
    const fx = await makeProject(t.prisma, {
      comparisons: 10,
      overlap: 2,
      k: 3,
      labelSchema: { kind: "ranking", allowTies: true, allowPartial: true },
      models: ["m1", "m2", "m3"],
    });
    const users = await Promise.all([1, 2, 3].map((i) => makeUser(t.prisma, `K${i}`)));
    const now = new Date("2026-12-04T12:00:00Z");
    let n = 0;
    for (const cid of fx.comparisonIds) {
      const ids = fx.completions.get(cid)!;
      for (const u of users.slice(0, 2 + Math.floor(rng() * 2))) {
        const order = [...ids].sort(() => rng() - 0.5);
        const ranking =
          rng() < 0.3
            ? [[order[0]!, order[1]!], [order[2]!]]
            : rng() < 0.5
              ? [[order[0]!], [order[1]!]]
              : order.map((x) => [x]);
        await recordJudgment(t.prisma, {
          idempotencyKey: `rank-${n++}`,
          comparisonId: cid,
          origin: { kind: "human", userId: u.id },
          verdict: { kind: "ranking", ranking },
          displayOrder: order,
          timeSpentMs: 1000 + Math.floor(rng() * 5000),
          now: new Date(now.getTime() - n * 3_600_000),
        });
      }
    }
    expectSame(
      await projectDashboard(t.prisma, fx.projectId, { now }),
      await reference(t.prisma, fx.projectId, now, 0),
    );
    const got = await leaderboard(t.prisma, fx.projectId);
    const want = await referenceBoard(t.prisma, fx.projectId, ["human", "adjudication"]);
    expect(got.battles).toBe(want.battles);
    want.board!.rows.forEach((w) => {
      const g = got.rows.find((r) => r.source === w.source)!;
      expect(g.rating).toBeCloseTo(w.rating, 6);
      expect([g.wins, g.losses, g.ties]).toEqual([w.wins, w.losses, w.ties]);
    });
  });
});
