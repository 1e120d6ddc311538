// The pages served from trigger-kept counters (migration 20261205031000) against the row-level
// queries they replaced: the annotator's project list (items available to each annotator), the
// review page (counts, items in order, gold items many fail), people (judgments per person) and
// the annotator's progress, through leases, submits, skips, expiry, flags, a new overlap, a
// deleted comparison, and a recount after a load written with triggers off.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { PrismaClient } from "@prisma/client";
import { createTestDatabase, type TestDatabase } from "../../helpers/db";
import {
  flagAssignment,
  leaseNext,
  listAnnotatorProjects,
  skipAssignment,
  sweepExpiredLeases,
} from "@/server/annotation/queue";
import { submitJudgment } from "@/server/annotation/submit";
import { reviewQueue } from "@/server/annotation/review";
import { listPeople } from "@/server/annotation/people";
import { exportEstimate } from "@/server/annotation/data-admin";
import { computeProgress, localDay, myProgress } from "@/server/annotation/progress";
import { createRng } from "@/server/stats";
import { makeProject, makeUser } from "./fixtures";

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => t?.close());

/** listAnnotatorProjects' old query: every open item counted against the user's assignments. */
async function availableByRows(db: PrismaClient, userId: string) {
  const rows = await db.$queryRaw<Array<{ projectId: string; open: number }>>`
    SELECT c."projectId", count(*)::int AS open FROM "Comparison" c
    JOIN "Project" p ON p.id = c."projectId"
    WHERE c.status = 'open' AND (c."isGold" OR c."judgmentCount" + c."leaseCount" < p.overlap)
      AND NOT EXISTS (SELECT 1 FROM "Assignment" a WHERE a."comparisonId" = c.id AND a."userId" = ${userId})
    GROUP BY 1`;
  return new Map(rows.map((r) => [r.projectId, r.open]));
}

async function expectPagesEqualRows(db: PrismaClient, projectId: string, users: Array<{ id: string }>) {
  for (const u of users) {
    const want = await availableByRows(db, u.id);
    const got = await listAnnotatorProjects(db, u.id);
    for (const p of got) expect([u.id, p.id, p.available]).toEqual([u.id, p.id, want.get(p.id) ?? 0]);
  }
  const q = await reviewQueue(db, { projectId });
  const counts = await db.comparison.groupBy({
    by: ["status"],
    where: { projectId, status: { in: ["review", "flagged"] } },
    _count: { _all: true },
  });
  expect(q.counts).toEqual(Object.fromEntries(counts.map((c) => [c.status, c._count._all])));
  const items = await db.comparison.findMany({
    where: { projectId, status: { in: ["review", "flagged"] } },
    orderBy: [{ priority: "desc" }, { createdAt: "asc" }, { id: "asc" }],
    select: { id: true },
  });
  expect(q.items.map((i) => i.id)).toEqual(items.map((i) => i.id));
  const gold = await db.$queryRaw<Array<{ id: string; failed: number; checks: number }>>`
    SELECT c.id, count(*) FILTER (WHERE j."goldCorrect" = false)::int AS failed, count(*)::int AS checks
    FROM "Comparison" c JOIN "Judgment" j ON j."comparisonId" = c.id AND j."isGoldCheck" AND j."supersededAt" IS NULL
    WHERE c."isGold" AND c."projectId" = ${projectId}
    GROUP BY c.id
    HAVING count(*) FILTER (WHERE j."goldCorrect" = false) >= 2
       AND count(*) FILTER (WHERE j."goldCorrect" = false) * 2 >= count(*)
    ORDER BY 2 DESC, 1`;
  expect(q.goldFailures.map(({ id, failed, checks }) => ({ id, failed, checks }))).toEqual(gold);
  const estimate = await exportEstimate(db, { project: projectId, format: "trl" });
  expect(estimate.rows).toBe(await db.preferencePair.count({ where: { projectId, active: true } }));
  const votes = await exportEstimate(db, { project: projectId, format: "votes" });
  expect(votes.rows).toBe(await db.judgment.count({ where: { projectId } }));
  const people = await listPeople(db);
  const judged = await db.judgment.groupBy({
    by: ["userId"],
    where: { source: "human", supersededAt: null },
    _count: { _all: true },
  });
  const n = new Map(judged.map((c) => [c.userId, c._count._all]));
  for (const p of people) expect([p.id, p.judgments]).toEqual([p.id, n.get(p.id) ?? 0]);
  const now = new Date();
  for (const u of users) {
    for (const tz of [0, -330, 480]) {
      for (const scope of [projectId, undefined]) {
        const days = await db.$queryRaw<Array<{ day: string; count: number }>>`
          SELECT to_char(("createdAt" - make_interval(mins => ${tz}::int)), 'YYYY-MM-DD') AS day, count(*)::int AS count
          FROM "Judgment"
          WHERE "userId" = ${u.id} AND source = 'human' AND (${scope ?? null}::text IS NULL OR "projectId" = ${scope ?? null})
          GROUP BY 1`;
        const got = await myProgress(db, { userId: u.id, projectId: scope, tzOffsetMinutes: tz }, { now });
        const want = computeProgress({ days, recentTimes: [], gold: [], today: localDay(now, tz) });
        expect([got.today, got.total, got.streak]).toEqual([want.today, want.total, want.streak]);
      }
    }
  }
}

describe("pages from counters equal the row-level queries", () => {
  test(
    "leases, submits, skips, expiry, flags, gold failures, a new overlap, a deleted comparison",
    { timeout: 300_000 },
    async () => {
      const rng = createRng(7);
      const fx = await makeProject(t.prisma, { comparisons: 14, gold: 4, overlap: 2, goldRatio: 0.3 });
      const users = await Promise.all([1, 2, 3, 4].map((i) => makeUser(t.prisma, `C${i}`)));
      const day = 86_400_000;
      let key = 0;
      for (let round = 0; round < 5; round++) {
        for (const u of users) {
          const r = await leaseNext(
            t.prisma,
            { projectId: fx.projectId, userId: u.id },
            { random: rng, now: new Date(Date.now() - (5 - round) * day) },
          );
          if (r.kind !== "assignment") continue;
          const x = rng();
          if (x < 0.15) {
            await skipAssignment(t.prisma, {
              assignmentId: r.assignment.assignmentId,
              userId: u.id,
              reason: "not_sure",
            });
          } else if (x < 0.2 && round < 4) {
            // left to expire
          } else if (x < 0.23) {
            await flagAssignment(t.prisma, {
              assignmentId: r.assignment.assignmentId,
              userId: u.id,
              flag: "broken",
              reason: "cannot read it",
            });
          } else {
            await submitJudgment(
              t.prisma,
              u.id,
              {
                assignmentId: r.assignment.assignmentId,
                idempotencyKey: `pc-${key++}`,
                answer: { kind: "pairwise", choice: rng() < 0.5 ? "A" : "B", strength: 1 },
                timeSpentMs: 1000 + Math.floor(rng() * 9000),
              },
              { now: new Date(Date.now() - (5 - round) * day + 60_000) },
            );
          }
        }
      }
      await expectPagesEqualRows(t.prisma, fx.projectId, users);
      await sweepExpiredLeases(t.prisma, { projectId: fx.projectId, now: new Date(Date.now() + 3600_000) });
      await expectPagesEqualRows(t.prisma, fx.projectId, users);
      // A new overlap changes which items are available.
      await t.prisma.project.update({ where: { id: fx.projectId }, data: { overlap: 3 } });
      await expectPagesEqualRows(t.prisma, fx.projectId, users);
      await t.prisma.project.update({ where: { id: fx.projectId }, data: { overlap: 1 } });
      await expectPagesEqualRows(t.prisma, fx.projectId, users);
      // A deleted comparison takes its assignments and judgments with it.
      const judged = await t.prisma.comparison.findFirstOrThrow({
        where: { projectId: fx.projectId, judgmentCount: { gt: 0 } },
        select: { id: true },
      });
      await t.prisma.comparison.delete({ where: { id: judged.id } });
      const gold = fx.goldIds.find((id) => id !== judged.id)!;
      await t.prisma.comparison.delete({ where: { id: gold } });
      await expectPagesEqualRows(t.prisma, fx.projectId, users);
      // A load written with triggers off, then recounted.
      await t.prisma.$transaction(async (tx) => {
        await tx.$executeRawUnsafe(`SET LOCAL session_replication_role = replica`);
        await tx.assignment.deleteMany({ where: { projectId: fx.projectId, status: "skipped" } });
        await tx.judgment.updateMany({
          where: { projectId: fx.projectId, isGoldCheck: true },
          data: { goldCorrect: false },
        });
      });
      await t.prisma.$queryRawUnsafe(`SELECT pw_recount_counters($1)::text AS ok`, fx.projectId);
      await expectPagesEqualRows(t.prisma, fx.projectId, users);
    },
  );

  test("the review queue pages by cursor, in queue order", async () => {
    const fx = await makeProject(t.prisma, { comparisons: 7, priorities: [0, 2, 1, 2, 0, 1, 2] });
    await t.prisma.comparison.updateMany({ where: { projectId: fx.projectId }, data: { status: "review" } });
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await reviewQueue(t.prisma, { projectId: fx.projectId, take: 3, after });
      seen.push(...page.items.map((i) => i.id));
      if (!page.nextCursor) break;
      after = page.nextCursor;
    }
    const want = await t.prisma.comparison.findMany({
      where: { projectId: fx.projectId },
      orderBy: [{ priority: "desc" }, { createdAt: "asc" }, { id: "asc" }],
      select: { id: true },
    });
    expect(seen).toEqual(want.map((c) => c.id));
  });
});
