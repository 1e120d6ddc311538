// Generation: prompts × models (pairwise serve over HTTP, and a checkpoint in-process) ->
// completions with provenance -> comparisons; idempotent; failures reported, not fatal.
import os from "node:os";
import path from "node:path";
import { promises as fs } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../helpers/db";
import { resetEnvForTests } from "@/server/env";
import { promptHash } from "@/server/data/hash";
import { choosePairs, generateComparisons } from "@/server/generation/generate";
import { startServeServer, type ServeServer } from "@/server/serve/server";
import { chatReply, startFakeLlm } from "../judges/fixtures";

let t: TestDatabase;
let dir: string;
let serve: ServeServer;

beforeAll(async () => {
  process.env.PAIRWISE_ENCRYPTION_KEY = "test-encryption-key-0123456789abcdef-xyz";
  resetEnvForTests();
  t = await createTestDatabase();
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "pw-gen-"));
  serve = await startServeServer({
    port: 0,
    checkpointDir: dir,
    database: false,
    backend: "wasm",
    log: () => {},
  });
});

afterAll(async () => {
  await serve?.close();
  await t?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

async function project(kind: "pairwise" | "ranking", n: number) {
  const slug = `gen-${kind}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const p = await t.prisma.project.create({ data: { slug, name: slug, labelSchema: { kind } } });
  const prompts = [];
  for (let i = 0; i < n; i++) {
    const messages = [{ role: "user", content: `Ana has ${i + 2} apples and buys 3 more. How many?` }];
    prompts.push(
      await t.prisma.prompt.create({
        data: { projectId: p.id, contentHash: promptHash({ messages: messages as never }), messages },
      }),
    );
  }
  return { projectId: p.id, promptIds: prompts.map((x) => x.id) };
}

describe("generateComparisons", () => {
  it("makes completions with provenance from pairwise serve and a checkpoint, then comparisons", async () => {
    const fx = await project("pairwise", 3);
    const ckPath = path.join(dir, "_serve", "pairwise-tiny");
    const ck = await t.prisma.checkpoint.create({
      data: { projectId: fx.projectId, kind: "policy", name: "policy-r1", path: ckPath, promoted: true },
    });
    const input = {
      projectId: fx.projectId,
      promptIds: fx.promptIds,
      endpoints: [{ baseUrl: serve.url, model: "pairwise-tiny", name: "served-tiny" }],
      models: [{ checkpointId: ck.id }],
      n: 2,
      sampling: { temperature: 1, maxTokens: 12, seed: 5 },
    };
    const r = await generateComparisons(input);
    expect(r.failures).toEqual([]);
    expect(r.prompts).toBe(3);
    // The served model and the checkpoint are the same weights on the same backend: with the same
    // seeds they write the same texts over HTTP and in-process, so each prompt gets 2 distinct
    // completions (seeds 5 and 6), recorded with the provenance of the first model that wrote them.
    expect(r.completionsCreated).toBe(6);
    const cs = await t.prisma.completion.findMany({ where: { projectId: fx.projectId } });
    expect(cs).toHaveLength(6);
    expect(cs.every((c) => c.modelName === "served-tiny" && c.checkpointId === null)).toBe(true);
    expect(cs[0]!.samplingParams).toMatchObject({
      temperature: 1,
      max_tokens: 12,
      endpoint: serve.url,
      model: "pairwise-tiny",
    });
    expect(new Set(cs.map((c) => (c.samplingParams as { seed: number }).seed))).toEqual(new Set([5, 6]));
    const cmp = await t.prisma.comparison.findMany({ where: { projectId: fx.projectId } });
    expect(cmp.length).toBe(3);
    expect(r.comparisonsCreated).toBe(3);
    for (const c of cmp) {
      expect(c.completionIds).toHaveLength(2);
      expect(c.source).toBe("generated");
      expect(c.status).toBe("open");
    }

    // the checkpoint alone, other seeds: its completions carry the checkpoint id
    const local = await generateComparisons({
      projectId: fx.projectId,
      promptIds: fx.promptIds,
      models: [{ checkpointId: ck.id }],
      n: 2,
      sampling: { maxTokens: 12, seed: 100 },
      roundId: "round-x",
    });
    expect(local.completionsCreated).toBe(6);
    const mine = await t.prisma.completion.findMany({
      where: { projectId: fx.projectId, checkpointId: ck.id },
    });
    expect(mine).toHaveLength(6);
    expect(mine.every((c) => c.modelName === "policy-r1")).toBe(true);
    const roundCmp = await t.prisma.comparison.findMany({
      where: { projectId: fx.projectId, roundId: "round-x" },
    });
    expect(roundCmp).toHaveLength(3);
    expect(roundCmp.every((c) => c.source === "round")).toBe(true);

    // again: nothing new
    const again = await generateComparisons(input);
    expect(again.completionsCreated).toBe(0);
    expect(again.comparisonsCreated).toBe(0);
    expect(await t.prisma.comparison.count({ where: { projectId: fx.projectId } })).toBe(6);
  });

  it("makes K-way comparisons for ranking projects and reports failing models without stopping", async () => {
    const fx = await project("ranking", 2);
    const r = await generateComparisons(
      {
        projectId: fx.projectId,
        promptIds: fx.promptIds,
        endpoints: [
          { baseUrl: serve.url, model: "pairwise-tiny" },
          { baseUrl: serve.url, model: "no-such-model" },
        ],
        n: 4,
        sampling: { maxTokens: 8, seed: 1 },
        rankingSize: 4,
      },
      { retry: { maxRetries: 0 } },
    );
    expect(r.failures).toHaveLength(2 * 4);
    expect(r.failures[0]).toMatchObject({
      model: "no-such-model",
      error: expect.stringMatching(/HTTP 404: The model 'no-such-model' does not exist/),
    });
    const cmp = await t.prisma.comparison.findMany({ where: { projectId: fx.projectId } });
    expect(cmp.length).toBeGreaterThanOrEqual(1);
    expect(cmp.every((c) => c.completionIds.length >= 2 && c.completionIds.length <= 4)).toBe(true);
  });

  it("stores text PostgreSQL cannot hold (NUL bytes) with U+FFFD instead of failing", async () => {
    const fx = await project("pairwise", 1);
    let k = 0;
    const fake = await startFakeLlm(() => chatReply(`sample ${++k} \u0000 end`));
    try {
      const r = await generateComparisons({
        projectId: fx.projectId,
        promptIds: fx.promptIds,
        endpoints: [{ baseUrl: fake.url, model: "nul" }],
        n: 2,
      });
      expect(r).toMatchObject({ completionsCreated: 2, comparisonsCreated: 1, failures: [] });
      const texts = (await t.prisma.completion.findMany({ where: { projectId: fx.projectId } }))
        .map((c) => c.text)
        .sort();
      expect(texts).toEqual(["sample 1 \uFFFD end", "sample 2 \uFFFD end"]);
    } finally {
      await fake.close();
    }
  });

  it("refuses bad input with a reason", async () => {
    const fx = await project("pairwise", 1);
    await expect(generateComparisons({ projectId: fx.projectId, promptIds: fx.promptIds })).rejects.toThrow(
      /at least one model/,
    );
    await expect(
      generateComparisons({
        projectId: fx.projectId,
        promptIds: ["nope"],
        endpoints: [{ baseUrl: serve.url, model: "pairwise-tiny" }],
      }),
    ).rejects.toThrow(/not in this project/);
  });

  it("pairs completions all-pairs or across models, capped", () => {
    expect(choosePairs(["0", "0", "1"], "all", 10)).toEqual([
      [0, 1],
      [0, 2],
      [1, 2],
    ]);
    expect(choosePairs(["0", "0", "1"], "cross-model", 10)).toEqual([
      [0, 2],
      [1, 2],
    ]);
    expect(choosePairs(["0", "1", "2", "3", "4"], "all", 3)).toHaveLength(3);
  });
});
