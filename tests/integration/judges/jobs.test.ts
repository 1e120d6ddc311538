// The worker's side: judge runs and generations through pg-boss on the test database.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../helpers/db";
import { resetEnvForTests } from "@/server/env";
import { getBoss, stopBoss } from "@/server/jobs/boss";
import { createJudgeConfig } from "@/server/judges/config";
import {
  registerJobs as registerJudgeJobs,
  resumeJudgeRun,
  startJudgeRun,
  sweepJudgeRuns,
} from "@/server/judges/jobs";
import { getJudgeRun, pauseJudgeRun } from "@/server/judges/runs";
import {
  registerJobs as registerGenerationJobs,
  enqueueGeneration,
  getGenerationJob,
} from "@/server/generation/jobs";
import { promptHash } from "@/server/data/hash";
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

async function until<T>(f: () => Promise<T>, ok: (x: T) => boolean, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const x = await f();
    if (ok(x)) return x;
    if (Date.now() > end) throw new Error(`timed out; last value ${JSON.stringify(x)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  process.env.PAIRWISE_ENCRYPTION_KEY = "test-encryption-key-0123456789abcdef-xyz";
  resetEnvForTests();
  t = await createTestDatabase();
  fake = await startFakeLlm((r) => chatReply(`[[${honestVerdict(r)}]]`));
  const boss = await getBoss({ connectionString: t.url });
  await registerJudgeJobs(boss);
  await registerGenerationJobs(boss);
});

afterAll(async () => {
  await stopBoss();
  await fake?.close();
  await t?.close();
});

describe("jobs", () => {
  it("runs a judge run through pg-boss, pauses and resumes it", async () => {
    // Slow enough that the pause lands with work left, however fast the machine (20 calls × 250 ms).
    fake.setHandler((r) => ({ ...chatReply(`[[${honestVerdict(r)}]]`), delayMs: 250 }) as FakeReply);
    const fx = await makeProject(t.prisma, { n: 20 });
    const cfg = await createJudgeConfig({
      name: "queued",
      kind: "llm",
      baseUrl: fake.url,
      model: "m",
      concurrency: 1,
      positionSwap: false,
    });
    const run = await startJudgeRun({ judgeConfigId: cfg.id, projectId: fx.projectId });
    await until(
      () => getJudgeRun(run.id),
      (r) => r.done >= 3,
    );
    await pauseJudgeRun(run.id);
    const paused = await until(
      () => getJudgeRun(run.id),
      (r) => r.status === "paused",
    );
    await new Promise((r) => setTimeout(r, 1500)); // the runner notices and stops within a poll
    const frozen = (await getJudgeRun(run.id)).done;
    expect(frozen).toBeLessThan(20);
    await new Promise((r) => setTimeout(r, 500));
    expect((await getJudgeRun(run.id)).done).toBe(frozen);
    expect(paused.status).toBe("paused");
    // the sweep leaves paused runs alone
    expect(await sweepJudgeRuns()).toBe(0);

    await resumeJudgeRun(run.id);
    const done = await until(
      () => getJudgeRun(run.id),
      (r) => r.status === "succeeded",
    );
    expect(done).toMatchObject({ done: 20, failed: 0 });
    expect(await t.prisma.judgment.count({ where: { judgeRunId: run.id } })).toBe(20);
  });

  it("runs a generation job with an encrypted API key", async () => {
    fake.setHandler(() => chatReply(`answer ${Math.random()}`));
    const slug = `jobs-gen-${Date.now()}`;
    const p = await t.prisma.project.create({
      data: { slug, name: slug, labelSchema: { kind: "pairwise" } },
    });
    const prompt = await t.prisma.prompt.create({
      data: { projectId: p.id, contentHash: promptHash({ text: "hi" }), text: "hi" },
    });
    const id = await enqueueGeneration({
      projectId: p.id,
      promptIds: [prompt.id],
      endpoints: [{ baseUrl: fake.url, model: "gen", apiKey: "sk-gen-secret" }],
      n: 2,
    });
    const raw = await t.prisma.$queryRawUnsafe<Array<{ data: unknown }>>(
      `SELECT data FROM pgboss.job WHERE id = $1::uuid`,
      id,
    );
    expect(JSON.stringify(raw[0]!.data)).not.toContain("sk-gen-secret");
    const job = await until(
      () => getGenerationJob(id),
      (j) => j.state === "completed" || j.state === "failed",
    );
    expect(job.error).toBeNull();
    expect(job.result).toMatchObject({ prompts: 1, completionsCreated: 2, comparisonsCreated: 1 });
    expect(fake.requests.at(-1)!.headers.authorization).toBe("Bearer sk-gen-secret");
  });
});
