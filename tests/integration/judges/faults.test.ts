// Faults from a local fault-injecting OpenAI-compatible server. Each case ends as documented:
// retried (and then judged correctly), recorded as unparseable, or marked failed with a reason.
// None ends in a wrong verdict.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../helpers/db";
import { resetEnvForTests } from "@/server/env";
import { createJudgeConfig } from "@/server/judges/config";
import { createJudgeRun, getJudgeRun, markRunResumed } from "@/server/judges/runs";
import { executeJudgeRun } from "@/server/judges/runner";
import {
  chatReply,
  honestVerdict,
  makeProject,
  startFakeLlm,
  type FakeReply,
  type FakeRequest,
  type FakeServer,
} from "./fixtures";

let t: TestDatabase;
let fake: FakeServer;
const FAST_RETRY = { baseDelayMs: 5, maxDelayMs: 20, maxRetries: 3 };

beforeAll(async () => {
  process.env.PAIRWISE_ENCRYPTION_KEY = "test-encryption-key-0123456789abcdef-xyz";
  resetEnvForTests();
  t = await createTestDatabase();
  fake = await startFakeLlm((r) => chatReply(`[[${honestVerdict(r)}]]`));
});

afterAll(async () => {
  await fake?.close();
  await t?.close();
});

const ok = (r: FakeRequest): FakeReply => chatReply(`The better one is clear. [[${honestVerdict(r)}]]`);

/** Runs one comparison through a judge whose endpoint answers with `script(callNumber, request)`. */
async function runCase(
  script: (call: number, r: FakeRequest) => FakeReply,
  over: Record<string, unknown> = {},
) {
  let call = 0;
  fake.setHandler((r) => script(++call, r));
  const fx = await makeProject(t.prisma, { n: 1 });
  const cfg = await createJudgeConfig({
    name: "faulty",
    kind: "llm",
    baseUrl: fake.url,
    model: "m",
    positionSwap: false,
    timeoutMs: 400,
    ...over,
  });
  const run = await createJudgeRun({ judgeConfigId: cfg.id, projectId: fx.projectId });
  const started = Date.now();
  const result = await executeJudgeRun(run.id, { pollMs: 20, retry: FAST_RETRY });
  const elapsed = Date.now() - started;
  const view = await getJudgeRun(run.id);
  const judgments = await t.prisma.judgment.findMany({ where: { comparisonId: fx.comparisonIds[0] } });
  const attempts = await t.prisma.judgeAttempt.findMany({
    where: { runId: run.id },
    orderBy: [{ order: "asc" }, { try: "asc" }],
  });
  const pair = fx.pairs[0]!;
  const good = pair.aText.startsWith("GOOD") ? pair.a : pair.b;
  return { result, view, judgments, attempts, calls: call, elapsed, good, run, cfg };
}

function expectCorrect(c: Awaited<ReturnType<typeof runCase>>) {
  expect(c.judgments).toHaveLength(1);
  expect(c.judgments[0]!.verdict).toMatchObject({ outcome: "win", winnerId: c.good });
  expect(c.view).toMatchObject({ status: "succeeded", done: 1, failed: 0, unparseable: 0 });
}

function expectFailed(c: Awaited<ReturnType<typeof runCase>>, reason: RegExp) {
  expect(c.judgments).toHaveLength(0); // never a guessed verdict
  // nothing judged: the run failed, and says why
  expect(c.view).toMatchObject({ status: "failed", done: 0, failed: 1 });
  expect(c.view.error).toMatch(/^No comparison was judged: 1 comparison\(s\) failed/);
  expect(c.attempts).toHaveLength(1);
  expect(c.attempts[0]!.status).toBe("failed");
  expect(c.attempts[0]!.error).toMatch(reason);
}

describe("transport faults are retried", () => {
  it("429 with Retry-After: waits as told, then judges", async () => {
    const c = await runCase((n, r) =>
      n === 1
        ? {
            kind: "json",
            status: 429,
            headers: { "retry-after": "1" },
            body: { error: { message: "slow down" } },
          }
        : ok(r),
    );
    expectCorrect(c);
    expect(c.calls).toBe(2);
    expect(c.elapsed).toBeGreaterThanOrEqual(1000);
  });

  it("500, then success", async () => {
    const c = await runCase((n, r) =>
      n <= 2 ? { kind: "json", status: 500, body: { error: { message: "boom" } } } : ok(r),
    );
    expectCorrect(c);
    expect(c.calls).toBe(3);
  });

  it("a slow reply past the timeout, then a fast one", async () => {
    const c = await runCase((n, r) => (n === 1 ? ({ ...ok(r), delayMs: 1500 } as FakeReply) : ok(r)));
    expectCorrect(c);
    expect(c.calls).toBe(2);
  });

  it("truncated JSON, then a whole reply", async () => {
    const c = await runCase((n, r) =>
      n === 1
        ? { kind: "raw", body: '{"id":"x","choices":[{"message":{"role":"assistant","content":"[[A' }
        : ok(r),
    );
    expectCorrect(c);
  });

  it("an empty body, then a reply", async () => {
    const c = await runCase((n, r) => (n === 1 ? { kind: "raw", body: "" } : ok(r)));
    expectCorrect(c);
  });
});

describe("faults that persist end as failed, with the reason", () => {
  it("500 every time", async () => {
    const c = await runCase(() => ({
      kind: "json",
      status: 500,
      body: { error: { message: "model crashed" } },
    }));
    expectFailed(c, /HTTP 500: model crashed \(gave up after 4 tries\)/);
    expect(c.calls).toBe(4);
  });

  it("429 every time", async () => {
    const c = await runCase(() => ({
      kind: "json",
      status: 429,
      headers: { "retry-after": "0" },
      body: { error: { message: "quota" } },
    }));
    expectFailed(c, /HTTP 429: quota/);
  });

  it("a reply that never comes", async () => {
    const c = await runCase(() => ({ kind: "hang" }));
    expectFailed(c, /no complete reply within 400 ms/);
  });

  it("truncated JSON every time (even one that contains a verdict marker)", async () => {
    const c = await runCase(() => ({ kind: "raw", body: '{"choices":[{"message":{"content":"[[A]]' }));
    expectFailed(c, /truncated or invalid JSON/);
  });

  it("an empty body every time", async () => {
    const c = await runCase(() => ({ kind: "raw", body: "" }));
    expectFailed(c, /empty body/);
  });

  it("JSON without choices", async () => {
    const c = await runCase(() => ({ kind: "json", body: { object: "error" } }));
    expectFailed(c, /no "choices"/);
  });
});

describe("replies without a verdict are unparseable, retried once, never guessed", () => {
  it("verdict-less text twice: recorded as unparseable", async () => {
    const c = await runCase(() => chatReply("Both answers have merit; it is hard to say."));
    expect(c.calls).toBe(2);
    expect(c.judgments).toHaveLength(0);
    expect(c.view).toMatchObject({ status: "failed", done: 0, unparseable: 1, failed: 0 });
    expect(c.attempts.map((a) => [a.try, a.status])).toEqual([
      [1, "unparseable"],
      [2, "unparseable"],
    ]);
    expect(c.attempts[0]!.rawReply).toContain("hard to say");
    expect(c.attempts[0]!.error).toMatch(/no \[\[A\]\]\/\[\[B\]\]\/\[\[C\]\] verdict marker/);
    expect(c.view.error).toMatch(/^No comparison was judged: 1 reply\(ies\) had no verdict/);
  });

  it("a reply with NUL bytes (PostgreSQL cannot store them) is kept, with U+FFFD", async () => {
    const c = await runCase((n, r) =>
      n === 1 ? chatReply("odd \u0000 bytes") : chatReply(`fine\u0000 [[${honestVerdict(r)}]]`),
    );
    expectCorrect(c);
    expect(c.attempts[0]!.rawReply).toBe("odd \uFFFD bytes");
    expect(c.judgments[0]!.rationale).toContain("fine\uFFFD");
  });

  it("an empty message content counts as verdict-less", async () => {
    const c = await runCase(() => chatReply(""));
    expect(c.judgments).toHaveLength(0);
    expect(c.view.unparseable).toBe(1);
    expect(c.attempts[0]!.error).toBe("empty reply");
  });

  it("verdict-less, then a verdict on the retry: judged", async () => {
    const c = await runCase((n, r) => (n === 1 ? chatReply("I cannot decide.") : ok(r)));
    expectCorrect(c);
    expect(c.attempts.map((a) => a.status)).toEqual(["unparseable", "ok"]);
  });

  it("with position swap, one unparseable order means no judgment", async () => {
    const c = await runCase((_n, r) => (r.firstShown === "BAD" ? chatReply("No idea.") : ok(r)), {
      positionSwap: true,
    });
    expect(c.judgments).toHaveLength(0);
    expect(c.view.unparseable).toBe(1);
  });
});

describe("configuration errors stop the run and leave it resumable", () => {
  it("401: the run fails naming the key; after the fix, resume judges it", async () => {
    let refuse = true;
    const c = await runCase((_n, r) =>
      refuse
        ? { kind: "json", status: 401, body: { error: { message: "Incorrect API key provided" } } }
        : ok(r),
    );
    expect(c.result).toBe("failed");
    expect(c.view.status).toBe("failed");
    expect(c.view.error).toMatch(/HTTP 401: Incorrect API key provided.*set a valid key/);
    expect(c.calls).toBe(1); // not retried
    expect(c.attempts).toHaveLength(0);
    expect(c.judgments).toHaveLength(0);
    refuse = false;
    await markRunResumed(c.run.id);
    expect(await executeJudgeRun(c.run.id, { retry: FAST_RETRY })).toBe("finished");
    const after = await t.prisma.judgment.findMany({ where: { judgeRunId: c.run.id } });
    expect(after).toHaveLength(1);
    expect(after[0]!.verdict).toMatchObject({ winnerId: c.good });
  });

  it("a server that refuses logprobs: the judge goes on without them", async () => {
    const c = await runCase(
      (_n, r) =>
        r.body.logprobs
          ? {
              kind: "json",
              status: 400,
              body: { error: { message: "logprobs is not supported by this model" } },
            }
          : ok(r),
      { logprobs: true },
    );
    expectCorrect(c);
    expect(c.judgments[0]!.confidence).toBeNull();
    expect(c.calls).toBe(2);
  });

  it("404 unknown model: fails with the endpoint's message", async () => {
    const c = await runCase(() => ({
      kind: "json",
      status: 404,
      body: { error: { message: "The model 'm' does not exist" } },
    }));
    expect(c.result).toBe("failed");
    expect(c.view.error).toMatch(
      /HTTP 404: The model 'm' does not exist \(check the judge's base URL and model name\)/,
    );
  });

  it("an endpoint that is down: retried, then failed with the connection error", async () => {
    const closed = await startFakeLlm(ok);
    const url = closed.url;
    await closed.close(); // nothing listens there any more
    const cfg = await createJudgeConfig({
      name: "down",
      kind: "llm",
      baseUrl: url,
      model: "m",
      positionSwap: false,
    });
    const fx = await makeProject(t.prisma, { n: 1 });
    const run = await createJudgeRun({ judgeConfigId: cfg.id, projectId: fx.projectId });
    await executeJudgeRun(run.id, { retry: FAST_RETRY });
    const v = await getJudgeRun(run.id);
    expect(v).toMatchObject({ failed: 1, done: 0 });
    const a = await t.prisma.judgeAttempt.findFirstOrThrow({ where: { runId: run.id } });
    expect(a.error).toBe(`could not reach ${url}/chat/completions: ECONNREFUSED (gave up after 4 tries)`);
  });
});
