// The judges tRPC router: admins only, and no response ever carries the API key.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../helpers/db";
import { resetEnvForTests } from "@/server/env";
import { createCaller } from "@/server/trpc/root";
import { stopBoss } from "@/server/jobs/boss";
import { makeProject } from "./fixtures";

let t: TestDatabase;
const SECRET = "sk-router-secret-0987654321";

beforeAll(async () => {
  process.env.PAIRWISE_ENCRYPTION_KEY = "test-encryption-key-0123456789abcdef-xyz";
  resetEnvForTests();
  t = await createTestDatabase();
});
afterAll(async () => {
  await stopBoss();
  await t?.close();
});

const as = (role: "admin" | "annotator") =>
  createCaller({
    user: { id: `u-${role}`, email: `${role}@x.org`, name: role, role },
    scopes: null,
  } as never);

describe("judges router", () => {
  it("is for admins only", async () => {
    await expect(as("annotator").judges.configs()).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(createCaller({ user: null, scopes: null }).judges.configs()).rejects.toMatchObject({
      code: "UNAUTHORIZED",
    });
  });

  it("never returns the API key, only whether it is set", async () => {
    const fx = await makeProject(t.prisma, { n: 2 });
    const admin = as("admin");
    const responses: unknown[] = [];
    const created = await admin.judges.createConfig({
      project: fx.projectId,
      name: "gpt",
      kind: "llm",
      baseUrl: "http://127.0.0.1:1/v1",
      model: "gpt-x",
      apiKey: SECRET,
      rubricPreset: "mt-bench-pair-reference",
    });
    responses.push(created);
    expect(created.apiKey).toBe("set");
    expect(created.rubricPreset).toBe("mt-bench-pair-reference");
    expect(created.rubric).toContain("{reference}");
    responses.push(await admin.judges.configs({ project: fx.projectId }));
    responses.push(await admin.judges.config({ id: created.id }));
    responses.push(await admin.judges.updateConfig({ id: created.id, patch: { name: "gpt renamed" } }));
    const run = await admin.judges.startRun({ judgeConfigId: created.id, project: fx.projectId }); // queued; no worker here
    expect(run).toMatchObject({ status: "queued", total: 2 });
    responses.push(
      run,
      await admin.judges.run({ runId: run.id }),
      await admin.judges.cancelRun({ runId: run.id }),
    );
    responses.push(await admin.judges.runs({ project: fx.projectId }));
    responses.push(await admin.judges.rubrics());
    for (const r of responses) expect(JSON.stringify(r)).not.toContain(SECRET);
    const row = await t.prisma.judgeConfig.findUniqueOrThrow({ where: { id: created.id } });
    expect(row.apiKeyEncrypted).not.toContain(SECRET);
  });

  it("explains bad configurations", async () => {
    const admin = as("admin");
    await expect(admin.judges.createConfig({ name: "x", kind: "llm" })).rejects.toThrow(
      /an LLM judge needs the endpoint's base URL/,
    );
    await expect(
      admin.judges.createConfig({ name: "x", kind: "llm", baseUrl: "ftp://x", model: "m" }),
    ).rejects.toThrow(/must start with http/);
    await expect(
      admin.judges.createConfig({
        name: "x",
        kind: "llm",
        baseUrl: "http://x/v1",
        model: "m",
        rubric: "{answer_a} only",
      }),
    ).rejects.toThrow(/must include \{answer_b\}/);
    await expect(admin.judges.pauseRun({ runId: "nope" })).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("reports agreement without NaN for a judge with no overlap", async () => {
    const fx = await makeProject(t.prisma, { n: 1 });
    const admin = as("admin");
    const cfg = await admin.judges.createConfig({ name: "rule", kind: "rule" });
    const rep = await admin.judges.agreement({ project: fx.projectId, judgeConfigId: cfg.id });
    expect(rep.overlap.n).toBe(0);
    expect(rep.overlap.agreement.withTies.kappa).toBeNull();
  });
});
