// `pairwise serve` against the official OpenAI SDK over real HTTP: models, chat (plain and
// streaming), legacy completions, sampling options (seed reproducibility, stop, n, max_tokens),
// and OpenAI-style errors.
import os from "node:os";
import path from "node:path";
import { promises as fs } from "node:fs";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServeServer, type ServeServer } from "@/server/serve/server";

let server: ServeServer;
let client: OpenAI;
let dir: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "pw-serve-"));
  server = await startServeServer({
    port: 0,
    checkpointDir: dir,
    database: false,
    backend: "cpu",
    log: () => {},
  });
  client = new OpenAI({ baseURL: server.url, apiKey: "not-needed", maxRetries: 0 });
});

afterAll(async () => {
  await server?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

describe("pairwise serve with the OpenAI SDK", () => {
  it("lists the default model", async () => {
    const page = await client.models.list();
    expect(page.data.map((m) => m.id)).toContain("pairwise-tiny");
    const one = await client.models.retrieve("pairwise-tiny");
    expect(one.owned_by).toBe("pairwise");
  });

  it("answers a chat completion with usage, reproducibly for a seed", async () => {
    const req = {
      model: "pairwise-tiny",
      messages: [{ role: "user" as const, content: "Ana has 3 apples and buys 4 more. How many?" }],
      max_tokens: 8,
      temperature: 0.8,
      seed: 7,
    };
    const a = await client.chat.completions.create(req);
    const b = await client.chat.completions.create(req);
    expect(a.object).toBe("chat.completion");
    expect(a.choices).toHaveLength(1);
    expect(a.choices[0]!.message.role).toBe("assistant");
    expect(typeof a.choices[0]!.message.content).toBe("string");
    expect(["stop", "length"]).toContain(a.choices[0]!.finish_reason);
    expect(a.usage!.completion_tokens).toBeGreaterThan(0);
    expect(a.usage!.completion_tokens).toBeLessThanOrEqual(8);
    expect(a.usage!.prompt_tokens).toBeGreaterThan(5);
    expect(a.usage!.total_tokens).toBe(a.usage!.prompt_tokens + a.usage!.completion_tokens);
    expect(b.choices[0]!.message.content).toBe(a.choices[0]!.message.content);
  });

  it("returns n choices with distinct seeds", async () => {
    const r = await client.chat.completions.create({
      model: "pairwise-tiny",
      messages: [{ role: "user", content: "Count." }],
      max_tokens: 6,
      n: 3,
      seed: 1,
      temperature: 1,
    });
    expect(r.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    expect(new Set(r.choices.map((c) => c.message.content)).size).toBeGreaterThan(1);
  });

  it("streams the same text as the non-streaming call", async () => {
    const base = {
      model: "pairwise-tiny",
      messages: [{ role: "user" as const, content: "Say something." }],
      max_tokens: 10,
      temperature: 0.7,
      seed: 3,
    };
    const whole = await client.chat.completions.create(base);
    const stream = await client.chat.completions.create({
      ...base,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    let roleSeen = false;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      const c = chunk.choices[0];
      if (!c) continue;
      if (c.delta.role === "assistant") roleSeen = true;
      text += c.delta.content ?? "";
      if (c.finish_reason) finish = c.finish_reason;
    }
    expect(roleSeen).toBe(true);
    expect(text).toBe(whole.choices[0]!.message.content);
    expect(finish).toBe(whole.choices[0]!.finish_reason);
    expect(usage?.completion_tokens).toBe(whole.usage!.completion_tokens);
  });

  it("stops at a stop string and at max_tokens", async () => {
    const free = await client.chat.completions.create({
      model: "pairwise-tiny",
      messages: [{ role: "user", content: "Go on." }],
      max_tokens: 24,
      temperature: 0.9,
      seed: 11,
    });
    const text = free.choices[0]!.message.content ?? "";
    // pick a character from the middle of the free text as the stop string
    const stopAt = text.length > 4 ? text[Math.floor(text.length / 2)]! : null;
    if (stopAt && stopAt.trim()) {
      const stopped = await client.chat.completions.create({
        model: "pairwise-tiny",
        messages: [{ role: "user", content: "Go on." }],
        max_tokens: 24,
        temperature: 0.9,
        seed: 11,
        stop: [stopAt],
      });
      expect(stopped.choices[0]!.message.content).toBe(text.slice(0, text.indexOf(stopAt)));
      expect(stopped.choices[0]!.finish_reason).toBe("stop");
    }
    const short = await client.chat.completions.create({
      model: "pairwise-tiny",
      messages: [{ role: "user", content: "Go on." }],
      max_tokens: 2,
      temperature: 0.9,
      seed: 11,
    });
    expect(short.usage!.completion_tokens).toBeLessThanOrEqual(2);
  });

  it("serves the legacy completions endpoint, streaming too", async () => {
    const r = await client.completions.create({
      model: "pairwise-tiny",
      prompt: ["Once upon", "The answer is"],
      max_tokens: 5,
      seed: 2,
      n: 2,
    });
    expect(r.object).toBe("text_completion");
    expect(r.choices.map((c) => c.index)).toEqual([0, 1, 2, 3]);
    const s = await client.completions.create({
      model: "pairwise-tiny",
      prompt: "Once upon",
      max_tokens: 5,
      seed: 2,
      stream: true,
    });
    let text = "";
    for await (const chunk of s) text += chunk.choices[0]?.text ?? "";
    expect(text).toBe(r.choices[0]!.text);
  });

  it("answers errors in OpenAI's shape", async () => {
    await expect(
      client.chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "x" }] }),
    ).rejects.toMatchObject({
      status: 404,
      code: "model_not_found",
    });
    await expect(
      client.chat.completions.create({ model: "pairwise-tiny", messages: [] }),
    ).rejects.toMatchObject({ status: 400 });
    const raw = await fetch(`${server.url}/chat/completions`, {
      method: "POST",
      body: "{not json",
      headers: { "content-type": "application/json" },
    });
    expect(raw.status).toBe(400);
    const body = (await raw.json()) as { error: { message: string; type: string } };
    expect(body.error.type).toBe("invalid_request_error");
    expect(body.error.message).toMatch(/not valid JSON/);
  });
});

describe("pairwise serve with an API key", () => {
  it("refuses requests without the key", async () => {
    const s = await startServeServer({
      port: 0,
      checkpointDir: dir,
      database: false,
      backend: "cpu",
      apiKey: "sekret-key",
      log: () => {},
    });
    try {
      const bad = new OpenAI({ baseURL: s.url, apiKey: "wrong", maxRetries: 0 });
      await expect(bad.models.list()).rejects.toMatchObject({ status: 401 });
      const good = new OpenAI({ baseURL: s.url, apiKey: "sekret-key", maxRetries: 0 });
      expect((await good.models.list()).data.length).toBeGreaterThan(0);
    } finally {
      await s.close();
    }
  });
});
