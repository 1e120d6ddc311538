// recordJudgment, re-aggregation, snapshots and consistent exports against a real database.
import crypto from "node:crypto";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../helpers/db";
import { createProject, updateProject } from "@/server/projects/projects";
import { importStream } from "@/server/data/import";
import { recordJudgment, type RecordJudgmentInput } from "@/server/data/judgments";
import { createSnapshot, loadSnapshotPairs, promptSplit } from "@/server/data/snapshots";
import { exportLines } from "@/server/data/export";
import type { Verdict } from "@/server/data/verdict";

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => t?.close());

let n = 0;
const key = () => crypto.randomUUID();
async function setup(
  opts: {
    overlap?: number;
    k?: number;
    comparisons?: number;
    kind?: "pairwise" | "ranking";
    aiCounts?: boolean;
    rule?: "majority" | "weighted";
  } = {},
) {
  const k = opts.k ?? 2;
  const p = await createProject(t.prisma, {
    slug: `j-${++n}`,
    name: `J ${n}`,
    labelSchema: { kind: opts.kind ?? (k > 2 ? "ranking" : "pairwise") },
    overlap: opts.overlap ?? 1,
    aiCountsTowardConsensus: opts.aiCounts ?? false,
    consensusRule: opts.rule ?? "majority",
  });
  const rows = Array.from({ length: opts.comparisons ?? 1 }, (_, i) =>
    JSON.stringify({
      prompt: `prompt ${i}`,
      completions: Array.from({ length: k }, (_, j) => `completion ${i}.${j}`),
    }),
  );
  await importStream(Readable.from([Buffer.from(rows.join("\n"))]), { project: p.id, maxTextChars: 1000 });
  const comparisons = await t.prisma.comparison.findMany({
    where: { projectId: p.id },
    orderBy: { createdAt: "asc" },
  });
  const users = await Promise.all(
    [1, 2, 3].map((i) => t.prisma.user.create({ data: { email: `u${n}-${i}@example.com`, name: `U${i}` } })),
  );
  return { project: p, comparisons, users };
}
const win = (w: string, l: string, strength: 1 | 2 = 1): Verdict => ({
  kind: "pairwise",
  outcome: "win",
  winnerId: w,
  loserId: l,
  strength,
});
const human = (userId: string) => ({ kind: "human" as const, userId });
const activePairs = (comparisonId: string) =>
  t.prisma.preferencePair.findMany({ where: { comparisonId, active: true } });

describe("recordJudgment", () => {
  test("is idempotent: concurrent submits with one key write one row", async () => {
    const { comparisons, users } = await setup();
    const c = comparisons[0]!;
    const [a, b] = c.completionIds as [string, string];
    const input: RecordJudgmentInput = {
      idempotencyKey: key(),
      comparisonId: c.id,
      origin: human(users[0]!.id),
      verdict: win(a, b),
    };
    const results = await Promise.all(Array.from({ length: 8 }, () => recordJudgment(t.prisma, input)));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.judgment.id)).size).toBe(1);
    expect(await t.prisma.judgment.count({ where: { comparisonId: c.id } })).toBe(1);
    expect(await activePairs(c.id)).toHaveLength(1);
    const retry = await recordJudgment(t.prisma, input);
    expect(retry).toMatchObject({ created: false, comparison: { status: "complete", judgmentCount: 1 } });
  });

  test("waits for overlap, then updates counters, status, agreement and pairs", async () => {
    const { comparisons, users } = await setup({ overlap: 3 });
    const c = comparisons[0]!;
    const [a, b] = c.completionIds as [string, string];
    const r1 = await recordJudgment(t.prisma, {
      idempotencyKey: key(),
      comparisonId: c.id,
      origin: human(users[0]!.id),
      verdict: win(a, b, 2),
      displayOrder: [b, a],
      timeSpentMs: 1200,
    });
    expect(r1.comparison).toMatchObject({
      status: "open",
      judgmentCount: 1,
      agreement: null,
      completedAt: null,
    });
    await recordJudgment(t.prisma, {
      idempotencyKey: key(),
      comparisonId: c.id,
      origin: human(users[1]!.id),
      verdict: win(b, a),
    });
    const r3 = await recordJudgment(t.prisma, {
      idempotencyKey: key(),
      comparisonId: c.id,
      origin: human(users[2]!.id),
      verdict: win(a, b, 1),
    });
    expect(r3.comparison).toMatchObject({ status: "complete", judgmentCount: 3 });
    expect(r3.comparison.agreement).toBeCloseTo(2 / 3);
    expect(r3.comparison.completedAt).toBeInstanceOf(Date);
    const pairs = await activePairs(c.id);
    expect(pairs).toHaveLength(1);
    expect(pairs[0]).toMatchObject({
      chosenId: a,
      rejectedId: b,
      margin: 1.5,
      weight: 1,
      origin: "human",
      promptId: c.promptId,
    });
    expect(pairs[0]!.judgmentIds).toHaveLength(3);
  });

  test("a correction supersedes the old judgment, retires its pairs and keeps an earlier snapshot exact", async () => {
    const { project, comparisons, users } = await setup();
    const c = comparisons[0]!;
    const [a, b] = c.completionIds as [string, string];
    const first = await recordJudgment(t.prisma, {
      idempotencyKey: key(),
      comparisonId: c.id,
      origin: human(users[0]!.id),
      verdict: win(a, b),
    });
    const [oldPair] = await activePairs(c.id);
    const snap = await createSnapshot(t.prisma, project.id, { validationFraction: 0 });
    expect(snap.pairCount).toBe(1);

    const fix = await recordJudgment(t.prisma, {
      idempotencyKey: key(),
      comparisonId: c.id,
      origin: human(users[0]!.id),
      verdict: win(b, a, 2),
      supersedesId: first.judgment.id,
    });
    expect(fix.judgment.supersedesId).toBe(first.judgment.id);
    expect(
      (await t.prisma.judgment.findUniqueOrThrow({ where: { id: first.judgment.id } })).supersededAt,
    ).toBeInstanceOf(Date);
    expect(fix.comparison).toMatchObject({ status: "complete", judgmentCount: 1 });
    const retired = await t.prisma.preferencePair.findUniqueOrThrow({ where: { id: oldPair!.id } });
    expect(retired.active).toBe(false);
    expect(retired.retiredAt).toBeInstanceOf(Date);
    const [newPair] = await activePairs(c.id);
    expect(newPair).toMatchObject({ chosenId: b, rejectedId: a, margin: 2 });

    // the frozen snapshot still reads the old pair
    const frozen = await loadSnapshotPairs(t.prisma, snap.id);
    expect(frozen.map((p) => p.pairId)).toEqual([oldPair!.id]);
    const textOf = async (id: string) =>
      (await t.prisma.completion.findUniqueOrThrow({ where: { id } })).text;
    expect(frozen[0]).toMatchObject({
      chosen: await textOf(a),
      rejected: await textOf(b),
      prompt: "prompt 0",
    });

    await expect(
      recordJudgment(t.prisma, {
        idempotencyKey: key(),
        comparisonId: c.id,
        origin: human(users[0]!.id),
        verdict: win(a, b),
        supersedesId: first.judgment.id,
      }),
    ).rejects.toThrow(/already been corrected/);
  });

  test("an adjudication decides a split comparison outright", async () => {
    const { comparisons, users } = await setup({ overlap: 2 });
    const c = comparisons[0]!;
    const [a, b] = c.completionIds as [string, string];
    await recordJudgment(t.prisma, {
      idempotencyKey: key(),
      comparisonId: c.id,
      origin: human(users[0]!.id),
      verdict: win(a, b),
    });
    const split = await recordJudgment(t.prisma, {
      idempotencyKey: key(),
      comparisonId: c.id,
      origin: human(users[1]!.id),
      verdict: win(b, a),
    });
    expect(split.comparison).toMatchObject({ status: "review", agreement: 0.5 });
    expect(await activePairs(c.id)).toHaveLength(0);
    const adj = await recordJudgment(t.prisma, {
      idempotencyKey: key(),
      comparisonId: c.id,
      origin: { kind: "adjudication", userId: users[2]!.id },
      verdict: win(b, a, 2),
      rationale: "B is right",
    });
    expect(adj.comparison).toMatchObject({ status: "adjudicated", agreement: 1 });
    expect(await activePairs(c.id)).toEqual([
      expect.objectContaining({
        chosenId: b,
        rejectedId: a,
        margin: 2,
        judgmentIds: [adj.judgment.id],
        origin: "human",
      }),
    ]);
  });

  test("AI judgments count toward consensus only when the project says so", async () => {
    const { project, comparisons } = await setup({ comparisons: 2 });
    const judge = { kind: "ai" as const, judgeConfigId: "judge-1" };
    const [c1, c2] = comparisons as [(typeof comparisons)[0], (typeof comparisons)[0]];
    const r = await recordJudgment(t.prisma, {
      idempotencyKey: key(),
      comparisonId: c1.id,
      origin: judge,
      verdict: win(c1.completionIds[0]!, c1.completionIds[1]!),
      confidence: 0.9,
    });
    expect(r.comparison).toMatchObject({ status: "open", judgmentCount: 0 });
    expect(r.judgment).toMatchObject({ source: "ai", judgeConfigId: "judge-1", confidence: 0.9 });
    await updateProject(t.prisma, project.id, { aiCountsTowardConsensus: true });
    const r2 = await recordJudgment(t.prisma, {
      idempotencyKey: key(),
      comparisonId: c2.id,
      origin: judge,
      verdict: win(c2.completionIds[1]!, c2.completionIds[0]!),
    });
    expect(r2.comparison).toMatchObject({ status: "complete", judgmentCount: 1 });
    expect((await activePairs(c2.id))[0]).toMatchObject({ origin: "ai", chosenId: c2.completionIds[1] });
  });

  test("weighted consensus follows annotators' gold accuracy", async () => {
    const { project, comparisons, users } = await setup({ comparisons: 4, overlap: 3, rule: "weighted" });
    await updateProject(t.prisma, project.id, { settings: { reviewAgreementBelow: 0 } });
    const [target, ...golds] = comparisons as [(typeof comparisons)[0], ...typeof comparisons];
    // three gold items: user 0 always right, users 1 and 2 always wrong
    for (const g of golds) {
      const [a, b] = g.completionIds as [string, string];
      await t.prisma.comparison.update({
        where: { id: g.id },
        data: { isGold: true, goldAnswer: win(a, b) },
      });
      for (const [i, u] of users.entries()) {
        const r = await recordJudgment(t.prisma, {
          idempotencyKey: key(),
          comparisonId: g.id,
          origin: human(u.id),
          verdict: i === 0 ? win(a, b) : win(b, a),
        });
        expect(r.judgment).toMatchObject({ isGoldCheck: true, goldCorrect: i === 0 });
      }
      expect(await activePairs(g.id)).toHaveLength(0); // gold items check annotators; they are not data
    }
    // weights: user 0 (3+1)/(3+2) = 0.8; users 1, 2: (0+1)/(3+2) = 0.2 each -> user 0 outweighs both
    const [a, b] = target.completionIds as [string, string];
    await recordJudgment(t.prisma, {
      idempotencyKey: key(),
      comparisonId: target.id,
      origin: human(users[0]!.id),
      verdict: win(a, b),
    });
    await recordJudgment(t.prisma, {
      idempotencyKey: key(),
      comparisonId: target.id,
      origin: human(users[1]!.id),
      verdict: win(b, a),
    });
    const last = await recordJudgment(t.prisma, {
      idempotencyKey: key(),
      comparisonId: target.id,
      origin: human(users[2]!.id),
      verdict: win(b, a),
    });
    expect(last.comparison.status).toBe("complete");
    expect(last.comparison.agreement).toBeCloseTo(1 / 3);
    expect((await activePairs(target.id))[0]).toMatchObject({ chosenId: a, rejectedId: b });
  });

  test("refuses verdicts that do not fit, unknown comparisons and reused keys", async () => {
    const { comparisons, users } = await setup({ comparisons: 2 });
    const [c1, c2] = comparisons as [(typeof comparisons)[0], (typeof comparisons)[0]];
    const [a, b] = c1.completionIds as [string, string];
    await expect(
      recordJudgment(t.prisma, {
        idempotencyKey: key(),
        comparisonId: c1.id,
        origin: human(users[0]!.id),
        verdict: win(a, "nope"),
      }),
    ).rejects.toMatchObject({ code: "bad_request" });
    await expect(
      recordJudgment(t.prisma, {
        idempotencyKey: key(),
        comparisonId: c1.id,
        origin: human(users[0]!.id),
        verdict: win(a, a),
      }),
    ).rejects.toThrow(/same completion/);
    await expect(
      recordJudgment(t.prisma, {
        idempotencyKey: key(),
        comparisonId: "missing",
        origin: human(users[0]!.id),
        verdict: win(a, b),
      }),
    ).rejects.toMatchObject({ code: "not_found" });
    await expect(
      recordJudgment(t.prisma, {
        idempotencyKey: key(),
        comparisonId: c1.id,
        origin: human(users[0]!.id),
        verdict: { kind: "pairwise", outcome: "maybe" } as never,
      }),
    ).rejects.toThrow(/Invalid verdict/);
    const k = key();
    await recordJudgment(t.prisma, {
      idempotencyKey: k,
      comparisonId: c1.id,
      origin: human(users[0]!.id),
      verdict: win(a, b),
    });
    await expect(
      recordJudgment(t.prisma, {
        idempotencyKey: k,
        comparisonId: c2.id,
        origin: human(users[0]!.id),
        verdict: win(c2.completionIds[0]!, c2.completionIds[1]!),
      }),
    ).rejects.toMatchObject({ code: "conflict" });
    expect(await t.prisma.judgment.count({ where: { comparisonId: c2.id } })).toBe(0);
  });

  test("joins the caller's transaction (the annotation submit)", async () => {
    const { comparisons, users } = await setup();
    const c = comparisons[0]!;
    const [a, b] = c.completionIds as [string, string];
    await expect(
      t.prisma.$transaction(async (tx) => {
        await recordJudgment(tx, {
          idempotencyKey: key(),
          comparisonId: c.id,
          origin: human(users[0]!.id),
          verdict: win(a, b),
        });
        throw new Error("the caller rolls back");
      }),
    ).rejects.toThrow("the caller rolls back");
    expect(await t.prisma.judgment.count({ where: { comparisonId: c.id } })).toBe(0);
    expect(await activePairs(c.id)).toHaveLength(0);
  });
});

describe("snapshots", () => {
  test("split by prompt, deterministic content hash, filters", async () => {
    const { project, comparisons, users } = await setup({ k: 3, comparisons: 40 });
    for (const c of comparisons) {
      const [x, y, z] = c.completionIds as [string, string, string];
      await recordJudgment(t.prisma, {
        idempotencyKey: key(),
        comparisonId: c.id,
        origin: human(users[0]!.id),
        verdict: { kind: "ranking", ranking: [[z], [x], [y]] },
      });
    }
    const s1 = await createSnapshot(t.prisma, project.id, { validationFraction: 0.25, seed: "s" });
    const s2 = await createSnapshot(t.prisma, project.id, { validationFraction: 0.25, seed: "s" });
    expect(s1.pairCount).toBe(120);
    expect(s1.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(s2.hash).toBe(s1.hash);
    expect(s1.trainCount + s1.validationCount).toBe(120);
    expect(s1.validationCount).toBeGreaterThan(0);
    expect(s1.trainCount).toBeGreaterThan(0);

    // no prompt on both sides, and the split is the documented rule
    const pairs = await loadSnapshotPairs(t.prisma, s1.id);
    const sides = new Map<string, Set<string>>();
    for (const p of pairs) sides.set(p.prompt!, (sides.get(p.prompt!) ?? new Set()).add(p.split));
    expect([...sides.values()].every((s) => s.size === 1)).toBe(true);
    const prompts = await t.prisma.prompt.findMany({ where: { projectId: project.id } });
    for (const pr of prompts)
      expect([...sides.get(pr.text!)!][0]).toBe(promptSplit(pr.contentHash, "s", 0.25));

    // the hash is sha256 over the sorted content lines, computed here independently
    const rows = await t.prisma.$queryRaw<
      Array<{ p: string; c: string; r: string; margin: number; weight: number; split: string }>
    >`
      SELECT pr."contentHash" AS p, ch."contentHash" AS c, rj."contentHash" AS r, pp.margin, pp.weight, sp.split::text AS split
      FROM "SnapshotPair" sp JOIN "PreferencePair" pp ON pp.id = sp."pairId" JOIN "Prompt" pr ON pr.id = pp."promptId"
      JOIN "Completion" ch ON ch.id = pp."chosenId" JOIN "Completion" rj ON rj.id = pp."rejectedId" WHERE sp."snapshotId" = ${s1.id}`;
    const lines = rows
      .map((r) => [r.p, r.c, r.r, String(r.margin), String(r.weight), r.split].join("\t"))
      .sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect(crypto.createHash("sha256").update(lines.join("\n")).digest("hex")).toBe(s1.hash);

    const other = await createSnapshot(t.prisma, project.id, {
      validationFraction: 0.25,
      seed: "other seed",
    });
    expect(other.pairCount).toBe(120);
    expect(await createSnapshot(t.prisma, project.id, { origins: ["ai"] })).toMatchObject({ pairCount: 0 });
    expect((await createSnapshot(t.prisma, project.id, { minAgreement: 1 })).pairCount).toBe(120);
    const train = await loadSnapshotPairs(t.prisma, s1.id, "train");
    expect(train).toHaveLength(s1.trainCount);
  });
});

test("an export is one consistent picture while annotation continues", async () => {
  const { project, comparisons, users } = await setup({ comparisons: 30 });
  const first: string[] = [];
  for (const c of comparisons) {
    const r = await recordJudgment(t.prisma, {
      idempotencyKey: key(),
      comparisonId: c.id,
      origin: human(users[0]!.id),
      verdict: win(c.completionIds[0]!, c.completionIds[1]!),
    });
    first.push(r.judgment.id);
  }
  const it = exportLines({ project: project.id, format: "trl" }, { fetchSize: 5 });
  let text = (await it.next()).value as string;
  // every judgment is corrected (chosen flips) while the export is being read; on PGlite the
  // writes wait for the export's transaction, on PostgreSQL they commit meanwhile
  const writes = Promise.all(
    comparisons.map((c, i) =>
      recordJudgment(t.prisma, {
        idempotencyKey: key(),
        comparisonId: c.id,
        origin: human(users[0]!.id),
        verdict: win(c.completionIds[1]!, c.completionIds[0]!),
        supersedesId: first[i],
      }),
    ),
  );
  if (t.mode === "postgres") await writes;
  for await (const chunk of it) text += chunk;
  await writes;
  const texts = new Map(
    (await t.prisma.completion.findMany({ where: { projectId: project.id } })).map((c) => [c.id, c.text]),
  );
  const before = comparisons
    .map((c) => `${texts.get(c.completionIds[0]!)}>${texts.get(c.completionIds[1]!)}`)
    .sort();
  const rows = text
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { chosen: string; rejected: string; prompt: string });
  expect(rows).toHaveLength(30);
  // all rows from before the corrections
  expect(rows.map((r) => `${r.chosen}>${r.rejected}`).sort()).toEqual(before);
  let after = "";
  for await (const chunk of exportLines({ project: project.id, format: "trl" })) after += chunk;
  const flipped = comparisons
    .map((c) => `${texts.get(c.completionIds[1]!)}>${texts.get(c.completionIds[0]!)}`)
    .sort();
  expect(
    after
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { chosen: string; rejected: string })
      .map((r) => `${r.chosen}>${r.rejected}`)
      .sort(),
  ).toEqual(flipped);

  // the raw votes form has every judgment, superseded ones marked
  let votes = "";
  for await (const chunk of exportLines({ project: project.id, format: "votes" })) votes += chunk;
  const v = votes
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(v).toHaveLength(60);
  expect(v.filter((x) => x.superseded_at !== null)).toHaveLength(30);
  expect(v[0]).toMatchObject({
    source: "human",
    annotator_id: users[0]!.id,
    annotator_name: "U1",
    prompt: expect.any(String),
  });
  expect((v[0]!.completions as unknown[]).length).toBe(2);
});
