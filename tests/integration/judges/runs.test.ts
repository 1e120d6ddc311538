// LLM judge runs on a real database against a fake OpenAI-compatible endpoint: verdicts with
// position swap and logprob confidence, accounting, routing, idempotency across a crash,
// pause / resume / cancel, concurrency, and the API key kept secret.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../helpers/db";
import { resetEnvForTests } from "@/server/env";
import {
  createJudgeConfig,
  getJudgeConfig,
  listJudgeConfigs,
  updateJudgeConfig,
} from "@/server/judges/config";
import {
  cancelJudgeRun,
  createJudgeRun,
  getJudgeRun,
  judgmentKey,
  markRunResumed,
  pauseJudgeRun,
} from "@/server/judges/runs";
import { AI_UNCERTAIN_PRIORITY, executeJudgeRun, isUniqueViolation } from "@/server/judges/runner";
import {
  chatReply,
  honestVerdict,
  makeProject,
  startFakeLlm,
  type FakeReply,
  type FakeServer,
} from "./fixtures";

let t: TestDatabase;
let fake: FakeServer;

beforeAll(async () => {
  process.env.PAIRWISE_ENCRYPTION_KEY = "test-encryption-key-0123456789abcdef-xyz";
  resetEnvForTests();
  t = await createTestDatabase();
  fake = await startFakeLlm((r) =>
    chatReply(`Reasoning about both. [[${honestVerdict(r)}]]`, { letterProb: 0.9 }),
  );
});

afterAll(async () => {
  await fake?.close();
  await t?.close();
});

const llm = (over: Record<string, unknown> = {}) =>
  createJudgeConfig({
    name: "fake judge",
    kind: "llm",
    baseUrl: fake.url,
    model: "fake-model",
    concurrency: 4,
    costPerMInputTokens: 2,
    costPerMOutputTokens: 10,
    ...over,
  });

describe("LLM judge runs", () => {
  it("judges with position swap, confidence from logprobs, and counts tokens and cost", async () => {
    fake.setHandler((r) =>
      chatReply(`Reasoning about both. [[${honestVerdict(r)}]]`, {
        letterProb: 0.9,
        promptTokens: 120,
        completionTokens: 8,
      }),
    );
    const fx = await makeProject(t.prisma, { n: 6 });
    const cfg = await llm();
    const run = await createJudgeRun({ judgeConfigId: cfg.id, projectId: fx.projectId });
    expect(run.total).toBe(6);
    const before = fake.requests.length;
    expect(await executeJudgeRun(run.id, { pollMs: 50 })).toBe("finished");
    expect(fake.requests.length - before).toBe(12); // both orders
    const r = await getJudgeRun(run.id);
    expect(r).toMatchObject({
      status: "succeeded",
      done: 6,
      failed: 0,
      unparseable: 0,
      inconsistent: 0,
      promptTokens: 12 * 120,
      completionTokens: 12 * 8,
      error: null,
    });
    expect(r.costUsd).toBeCloseTo((12 * 120 * 2 + 12 * 8 * 10) / 1e6, 12);
    const js = await t.prisma.judgment.findMany({ where: { judgeRunId: run.id } });
    expect(js).toHaveLength(6);
    for (const p of fx.pairs) {
      const j = js.find((x) => x.comparisonId === p.comparisonId)!;
      const good = p.aText.startsWith("GOOD") ? p.a : p.b;
      expect(j.verdict).toMatchObject({ kind: "pairwise", outcome: "win", winnerId: good });
      expect(j.source).toBe("ai");
      expect(j.judgeConfigId).toBe(cfg.id);
      expect(j.confidence).toBeCloseTo(0.9, 10);
      expect(j.idempotencyKey).toBe(judgmentKey(cfg.id, cfg.version, p.comparisonId));
      expect(j.metadata).toMatchObject({ swap: "consistent", judge: "llm" });
    }
    const attempts = await t.prisma.judgeAttempt.findMany({ where: { runId: run.id } });
    expect(attempts).toHaveLength(12);
    expect(new Set(attempts.map((a) => a.order))).toEqual(new Set(["AB", "BA"]));
    // the request asked for logprobs and used the configured sampling
    const last = fake.requests.at(-1)!.body;
    expect(last).toMatchObject({
      model: "fake-model",
      temperature: 0,
      max_tokens: 1024,
      logprobs: true,
      top_logprobs: 5,
    });
    expect(last.messages[0]!.role).toBe("system");
  });

  it("records a swap-inconsistent verdict as a tie with low confidence and routes it to humans first", async () => {
    fake.setHandler(() => chatReply("I always like the first. [[A]]", { letterProb: 0.95 }));
    const fx = await makeProject(t.prisma, { n: 3 });
    const cfg = await llm();
    const run = await createJudgeRun({ judgeConfigId: cfg.id, projectId: fx.projectId });
    await executeJudgeRun(run.id, { pollMs: 50 });
    const r = await getJudgeRun(run.id);
    expect(r).toMatchObject({ done: 3, inconsistent: 3 });
    const js = await t.prisma.judgment.findMany({ where: { judgeRunId: run.id } });
    for (const j of js) {
      expect(j.verdict).toEqual({ kind: "pairwise", outcome: "tie" });
      expect(j.confidence).toBe(0);
      expect(j.metadata).toMatchObject({ swap: "inconsistent", routedToHumans: true });
    }
    const cs = await t.prisma.comparison.findMany({ where: { id: { in: fx.comparisonIds } } });
    expect(cs.every((c) => c.priority === AI_UNCERTAIN_PRIORITY)).toBe(true);
  });

  it("routes low-confidence verdicts only when the project asks for it", async () => {
    fake.setHandler((r) => chatReply(`Hmm. [[${honestVerdict(r)}]]`, { letterProb: 0.55 }));
    const on = await makeProject(t.prisma, { n: 2 });
    const off = await makeProject(t.prisma, {
      n: 2,
      settings: { routing: { aiUncertainToHumans: false, lowConfidenceBelow: 0.6 } },
    });
    const cfg = await llm();
    for (const fx of [on, off]) {
      const run = await createJudgeRun({ judgeConfigId: cfg.id, projectId: fx.projectId });
      await executeJudgeRun(run.id, { pollMs: 50 });
    }
    const pOn = await t.prisma.comparison.findMany({ where: { id: { in: on.comparisonIds } } });
    const pOff = await t.prisma.comparison.findMany({ where: { id: { in: off.comparisonIds } } });
    expect(pOn.map((c) => c.priority)).toEqual([AI_UNCERTAIN_PRIORITY, AI_UNCERTAIN_PRIORITY]);
    expect(pOff.map((c) => c.priority)).toEqual([0, 0]);
    const j = await t.prisma.judgment.findFirstOrThrow({ where: { comparisonId: off.comparisonIds[0] } });
    expect(j.confidence).toBeCloseTo(0.55, 10);
    expect(j.metadata).toMatchObject({ uncertain: true });
    expect((j.metadata as Record<string, unknown>).routedToHumans).toBeUndefined();
  });

  it("judges once per order without swap, and never twice per judge version across runs", async () => {
    fake.setHandler((r) => chatReply(`[[${honestVerdict(r)}]]`));
    const fx = await makeProject(t.prisma, { n: 3 });
    const cfg = await llm({ positionSwap: false, logprobs: false });
    const run = await createJudgeRun({ judgeConfigId: cfg.id, projectId: fx.projectId });
    const before = fake.requests.length;
    await executeJudgeRun(run.id, { pollMs: 50 });
    expect(fake.requests.length - before).toBe(3);
    expect(fake.requests.at(-1)!.body.logprobs).toBeUndefined();
    const j = await t.prisma.judgment.findFirstOrThrow({ where: { judgeRunId: run.id } });
    expect(j.confidence).toBeNull();
    expect(j.metadata).toMatchObject({ swap: "off" });

    const again = await createJudgeRun({ judgeConfigId: cfg.id, projectId: fx.projectId });
    expect(again).toMatchObject({
      total: 0,
      status: "succeeded",
      excluded: { alreadyJudged: 3, unsupported: 0 },
    });

    // a new version (rubric edited) judges them again, under new keys
    const v2 = await updateJudgeConfig(cfg.id, { temperature: 0.3 });
    expect(v2.version).toBe(2);
    const unchanged = await updateJudgeConfig(cfg.id, { concurrency: 2, name: "renamed" });
    expect(unchanged.version).toBe(2);
    const run2 = await createJudgeRun({ judgeConfigId: cfg.id, projectId: fx.projectId });
    expect(run2.total).toBe(3);
    await executeJudgeRun(run2.id, { pollMs: 50 });
    expect(
      await t.prisma.judgment.count({ where: { comparisonId: { in: fx.comparisonIds }, source: "ai" } }),
    ).toBe(6);
  });

  it("fails a run whose judge was edited after it was created", async () => {
    const fx = await makeProject(t.prisma, { n: 1 });
    const cfg = await llm();
    const run = await createJudgeRun({ judgeConfigId: cfg.id, projectId: fx.projectId });
    await updateJudgeConfig(cfg.id, { maxTokens: 77 });
    expect(await executeJudgeRun(run.id)).toBe("failed");
    expect((await getJudgeRun(run.id)).error).toMatch(/was edited \(now version 2\)/);
  });

  it("keeps the API key encrypted, sends it as a bearer token, and never shows it", async () => {
    fake.setHandler((r) => chatReply(`[[${honestVerdict(r)}]]`));
    const fx = await makeProject(t.prisma, { n: 1 });
    const cfg = await llm({ apiKey: "sk-very-secret-123", positionSwap: false });
    expect(cfg.apiKey).toBe("set");
    expect(JSON.stringify(cfg)).not.toContain("sk-very-secret-123");
    expect(JSON.stringify(await listJudgeConfigs())).not.toContain("sk-very-secret");
    const row = await t.prisma.judgeConfig.findUniqueOrThrow({ where: { id: cfg.id } });
    expect(row.apiKeyEncrypted).toMatch(/^v1:/);
    expect(row.apiKeyEncrypted).not.toContain("sk-very-secret");
    const run = await createJudgeRun({ judgeConfigId: cfg.id, projectId: fx.projectId });
    await executeJudgeRun(run.id);
    expect(fake.requests.at(-1)!.headers.authorization).toBe("Bearer sk-very-secret-123");
    // editing other fields keeps the key; "" clears it
    expect((await updateJudgeConfig(cfg.id, { name: "x" })).apiKey).toBe("set");
    expect((await updateJudgeConfig(cfg.id, { apiKey: "" })).apiKey).toBe("not set");
    expect((await getJudgeConfig(cfg.id)).apiKey).toBe("not set");
  });

  it("never sends the stored key to a new host: changing the base URL's host needs the key again", async () => {
    const other = await startFakeLlm((r) => chatReply(`[[${honestVerdict(r)}]]`));
    try {
      fake.setHandler((r) => chatReply(`[[${honestVerdict(r)}]]`));
      const fx = await makeProject(t.prisma, { n: 1 });
      const cfg = await llm({ apiKey: "sk-for-the-first-host", positionSwap: false });
      // another host, key not re-entered: refused, nothing changes
      await expect(updateJudgeConfig(cfg.id, { baseUrl: other.url })).rejects.toThrow(/re-enter the API key/);
      expect((await getJudgeConfig(cfg.id)).baseUrl).toBe(fake.url);
      // the same host (another path) keeps the key
      expect((await updateJudgeConfig(cfg.id, { baseUrl: `${fake.url}/` })).apiKey).toBe("set");
      // another host with its own key: that key goes there, the old one never does
      const moved = await updateJudgeConfig(cfg.id, { baseUrl: other.url, apiKey: "sk-for-the-second-host" });
      expect(moved).toMatchObject({ baseUrl: other.url, apiKey: "set" });
      const run = await createJudgeRun({ judgeConfigId: cfg.id, projectId: fx.projectId });
      expect(await executeJudgeRun(run.id, { pollMs: 50 })).toBe("finished");
      expect(other.requests.length).toBeGreaterThan(0);
      expect(other.requests.every((q) => q.headers.authorization === "Bearer sk-for-the-second-host")).toBe(
        true,
      );
      // or with the key cleared
      const cleared = await updateJudgeConfig(cfg.id, { baseUrl: fake.url, apiKey: "" });
      expect(cleared).toMatchObject({ baseUrl: fake.url, apiKey: "not set" });
    } finally {
      await other.close();
    }
  });

  it("respects the judge's concurrency", async () => {
    fake.setHandler((r) => ({ ...chatReply(`[[${honestVerdict(r)}]]`), delayMs: 40 }) as FakeReply);
    const fx = await makeProject(t.prisma, { n: 8 });
    const cfg = await llm({ concurrency: 3 });
    const run = await createJudgeRun({ judgeConfigId: cfg.id, projectId: fx.projectId });
    const before = fake.requests.length;
    const peakBefore = fake.maxInFlight;
    expect(peakBefore).toBeLessThanOrEqual(4);
    fake.resetPeak();
    await executeJudgeRun(run.id, { pollMs: 50 });
    expect(fake.requests.length - before).toBe(16);
    expect(fake.maxInFlight).toBeLessThanOrEqual(3);
    expect(fake.maxInFlight).toBeGreaterThanOrEqual(2);
  });
});

describe("crash and restart", () => {
  it("recognises a duplicate attempt written by raw SQL or by the models as a unique violation", async () => {
    const fx = await makeProject(t.prisma, { n: 1 });
    const cfg = await llm();
    const run = await createJudgeRun({ judgeConfigId: cfg.id, projectId: fx.projectId });
    const insert = (id: string) =>
      t.prisma
        .$executeRaw`INSERT INTO "JudgeAttempt" (id, "runId", "comparisonId", "order", "try", status) VALUES (${id}, ${run.id}, ${fx.comparisonIds[0]!}, 'AB', 1, 'ok')`;
    await insert("att-1");
    const raw = await insert("att-2").catch((e: unknown) => e);
    expect(isUniqueViolation(raw)).toBe(true);
    const viaModel = await t.prisma.judgeAttempt
      .create({
        data: { runId: run.id, comparisonId: fx.comparisonIds[0]!, order: "AB", try: 1, status: "ok" },
      })
      .catch((e: unknown) => e);
    expect(isUniqueViolation(viaModel)).toBe(true);
    expect(isUniqueViolation(new Error("other"))).toBe(false);
  });

  it("resumes a crashed run without judging any comparison twice, reusing replies already paid for", async () => {
    fake.setHandler((r) => chatReply(`[[${honestVerdict(r)}]]`, { promptTokens: 50, completionTokens: 5 }));
    const fx = await makeProject(t.prisma, { n: 10 });
    const cfg = await llm({ concurrency: 2 });
    const run = await createJudgeRun({ judgeConfigId: cfg.id, projectId: fx.projectId });

    // 1. a runner "dies" after 4 comparisons: stop abruptly and leave its lease behind
    const crash = new AbortController();
    let outcomes = 0;
    const first = await executeJudgeRun(run.id, {
      owner: "worker-that-dies",
      pollMs: 20,
      signal: crash.signal,
      onOutcome: () => {
        if (++outcomes === 4) crash.abort();
      },
    });
    expect(first).toBe("stopped");
    await t.prisma
      .$executeRaw`UPDATE "JudgeRun" SET "leaseOwner" = 'worker-that-dies', "leaseUntil" = now() + interval '1 hour', "done" = 0, "promptTokens" = 0 WHERE id = ${run.id}`;

    // 2. half-finished work of the dead runner: an AB reply paid for, no judgment yet
    const judgedSoFar = new Set(
      (await t.prisma.judgment.findMany({ where: { judgeRunId: run.id } })).map((j) => j.comparisonId),
    );
    const half = fx.pairs.find((p) => !judgedSoFar.has(p.comparisonId))!;
    await t.prisma.judgeAttempt.deleteMany({ where: { runId: run.id, comparisonId: half.comparisonId } });
    const goodFirst = half.aText.startsWith("GOOD");
    await t.prisma.judgeAttempt.create({
      data: {
        runId: run.id,
        comparisonId: half.comparisonId,
        order: "AB",
        try: 1,
        status: "ok",
        verdict: goodFirst ? "A" : "B",
        rawReply: "[[x]]",
        promptTokens: 50,
        completionTokens: 5,
      },
    });

    // 3. while the lease is held, another runner stays away
    expect(await executeJudgeRun(run.id, { owner: "worker-2" })).toBe("busy");

    // 4. the lease runs out; the next runner resumes
    await t.prisma
      .$executeRaw`UPDATE "JudgeRun" SET "leaseUntil" = now() - interval '1 second' WHERE id = ${run.id}`;
    const before = fake.requests.length;
    expect(await executeJudgeRun(run.id, { owner: "worker-2", pollMs: 20 })).toBe("finished");
    const asked = fake.requests.slice(before);
    // nothing already judged was asked again, and the half-done comparison only for its BA order
    const judgedAgain = asked.filter((r) =>
      fx.pairs.some(
        (p) =>
          judgedSoFar.has(p.comparisonId) &&
          r.body.messages[1]!.content.includes(p.aText) &&
          r.body.messages[1]!.content.includes(p.bText),
      ),
    );
    expect(judgedAgain).toHaveLength(0);
    const halfAsks = asked.filter(
      (r) =>
        r.body.messages[1]!.content.includes(half.aText) && r.body.messages[1]!.content.includes(half.bText),
    );
    expect(halfAsks).toHaveLength(1);
    expect(halfAsks[0]!.firstShown).toBe(goodFirst ? "BAD" : "GOOD"); // the BA order

    const js = await t.prisma.judgment.findMany({ where: { comparisonId: { in: fx.comparisonIds } } });
    expect(js).toHaveLength(10);
    expect(new Set(js.map((j) => j.comparisonId)).size).toBe(10);
    const r = await getJudgeRun(run.id);
    // counters were recounted from the rows, not trusted
    expect(r).toMatchObject({
      status: "succeeded",
      done: 10,
      failed: 0,
      promptTokens: 20 * 50,
      completionTokens: 20 * 5,
    });
    expect(await t.prisma.judgeAttempt.count({ where: { runId: run.id } })).toBe(20);
    const lease = await t.prisma.judgeRun.findUniqueOrThrow({ where: { id: run.id } });
    expect(lease.leaseOwner).toBeNull();

    // running the finished run again does nothing
    const n = fake.requests.length;
    expect(await executeJudgeRun(run.id)).toBe("finished");
    expect(fake.requests.length).toBe(n);
  });
});

describe("pause, resume, cancel", () => {
  it("pauses after the requests in flight, resumes where it stopped, and cancels", async () => {
    fake.setHandler((r) => ({ ...chatReply(`[[${honestVerdict(r)}]]`), delayMs: 30 }) as FakeReply);
    const fx = await makeProject(t.prisma, { n: 12 });
    const cfg = await llm({ concurrency: 1, positionSwap: false });
    const run = await createJudgeRun({ judgeConfigId: cfg.id, projectId: fx.projectId });
    let n = 0;
    const result = await executeJudgeRun(run.id, {
      pollMs: 10,
      onOutcome: () => {
        if (++n === 3) void pauseJudgeRun(run.id);
      },
    });
    expect(result).toBe("paused");
    const paused = await getJudgeRun(run.id);
    expect(paused.status).toBe("paused");
    expect(paused.done).toBeGreaterThanOrEqual(3);
    expect(paused.done).toBeLessThan(12);
    // a paused run is not picked up
    expect(await executeJudgeRun(run.id)).toBe("paused");
    await expect(pauseJudgeRun(run.id)).rejects.toThrow(/only a queued or running run/);

    await markRunResumed(run.id);
    let m = 0;
    const r2 = await executeJudgeRun(run.id, {
      pollMs: 10,
      onOutcome: () => {
        if (++m === 2) void cancelJudgeRun(run.id);
      },
    });
    expect(r2).toBe("cancelled");
    const cancelled = await getJudgeRun(run.id);
    expect(cancelled.status).toBe("cancelled");
    expect(cancelled.done).toBeLessThan(12);
    expect(cancelled.finishedAt).not.toBeNull();
    await expect(markRunResumed(run.id)).rejects.toThrow(/only a paused or failed run/);
    expect(await executeJudgeRun(run.id)).toBe("cancelled");
    // no comparison has two judgments from this judge
    const js = await t.prisma.judgment.findMany({ where: { judgeConfigId: cfg.id } });
    expect(new Set(js.map((j) => j.comparisonId)).size).toBe(js.length);
  });
});
