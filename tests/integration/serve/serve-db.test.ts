// `pairwise serve` lists promoted policy checkpoints from the database (model id = checkpoint
// name), picks up one promoted while it runs, and leaves unpromoted and reward checkpoints out.
import os from "node:os";
import path from "node:path";
import { promises as fs } from "node:fs";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BpeTokenizer, createPolicy, createRewardModel, disposeModel, saveCheckpoint } from "@/trainer";
import { createTestDatabase, type TestDatabase } from "../../helpers/db";
import { startServeServer, type ServeServer } from "@/server/serve/server";

let t: TestDatabase;
let dir: string;
let serve: ServeServer;
let client: OpenAI;

async function save(name: string, kind: "policy" | "reward") {
  const tok = BpeTokenizer.bytesOnly();
  const cfg = { vocabSize: tok.vocabSize, contextLength: 32, nLayer: 1, nHead: 2, nEmbd: 16 };
  const model = kind === "policy" ? createPolicy(cfg, 3) : createRewardModel(cfg, 3);
  await saveCheckpoint(path.join(dir, name), { model, tokenizer: tok });
  disposeModel(model);
  return name; // relative to the checkpoint store
}

beforeAll(async () => {
  t = await createTestDatabase();
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "pw-serve-db-"));
  const p = await t.prisma.project.create({
    data: { slug: "serve-db", name: "serve-db", labelSchema: { kind: "pairwise" } },
  });
  await t.prisma.checkpoint.create({
    data: {
      projectId: p.id,
      kind: "policy",
      name: "round-1-policy",
      path: await save("r1", "policy"),
      promoted: true,
    },
  });
  await t.prisma.checkpoint.create({
    data: {
      projectId: p.id,
      kind: "policy",
      name: "round-2-candidate",
      path: await save("r2", "policy"),
      promoted: false,
    },
  });
  await t.prisma.checkpoint.create({
    data: {
      projectId: p.id,
      kind: "reward",
      name: "round-1-rm",
      path: await save("rm", "reward"),
      promoted: true,
    },
  });
  serve = await startServeServer({
    port: 0,
    checkpointDir: dir,
    database: true,
    defaultModel: false,
    backend: "cpu",
    log: () => {},
  });
  client = new OpenAI({ baseURL: serve.url, apiKey: "x", maxRetries: 0 });
});

afterAll(async () => {
  await serve?.close();
  await t?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

describe("serve with the database", () => {
  it("serves promoted policy checkpoints by name", async () => {
    expect((await client.models.list()).data.map((m) => m.id)).toEqual(["round-1-policy"]);
    const r = await client.chat.completions.create({
      model: "round-1-policy",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 4,
      seed: 1,
    });
    expect(r.model).toBe("round-1-policy");
    expect(r.usage!.completion_tokens).toBeGreaterThan(0);
    await expect(
      client.chat.completions.create({
        model: "round-2-candidate",
        messages: [{ role: "user", content: "hi" }],
      }),
    ).rejects.toMatchObject({ status: 404 });
  });

  it("picks up a checkpoint promoted while it runs", async () => {
    await t.prisma.checkpoint.updateMany({ where: { name: "round-2-candidate" }, data: { promoted: true } });
    const r = await client.chat.completions.create({
      model: "round-2-candidate",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 3,
    });
    expect(r.model).toBe("round-2-candidate");
    expect((await client.models.list()).data.map((m) => m.id).sort()).toEqual([
      "round-1-policy",
      "round-2-candidate",
    ]);
  });
});
