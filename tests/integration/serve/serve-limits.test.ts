// `pairwise serve` at its limits, through the official OpenAI SDK over real HTTP: a prompt over the
// model's context is refused with 400 context_length_exceeded (OpenAI's and vLLM's error) unless
// truncation is asked for, and special tokens never reach message.content unless asked for.
import os from "node:os";
import path from "node:path";
import { promises as fs } from "node:fs";
import OpenAI from "openai";
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BpeTokenizer, createPolicy, disposeModel, saveCheckpoint } from "@/trainer";
import { startServeServer, type ServeServer } from "@/server/serve/server";

const CONTEXT = 32;
let dir: string;
let strict: ServeServer;
let lenient: ServeServer;
let client: OpenAI;
let tok: BpeTokenizer;

/**
 * A model that always says `<|assistant|>`: the final layer norm outputs a constant vector v
 * (gain 0, bias v), and that token's embedding row is a large multiple of v, so its logit wins.
 */
async function saveChatterbox(folder: string): Promise<void> {
  tok = BpeTokenizer.bytesOnly();
  const model = createPolicy(
    { vocabSize: tok.vocabSize, contextLength: CONTEXT, nLayer: 1, nHead: 2, nEmbd: 16 },
    5,
  );
  const C = 16;
  const v = Array.from({ length: C }, (_, i) => (i % 2 ? 1 : -1));
  model.params.get("transformer.ln_f.weight")!.assign(tf.zeros([C]));
  model.params.get("transformer.ln_f.bias")!.assign(tf.tensor1d(v));
  const wte = model.params.get("transformer.wte.weight")!;
  const rows = (await wte.array()) as number[][];
  rows[tok.special["<|assistant|>"]] = v.map((x) => x * 50);
  wte.assign(tf.tensor2d(rows));
  await saveCheckpoint(folder, { model, tokenizer: tok });
  disposeModel(model);
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "pw-serve-limits-"));
  const folder = path.join(dir, "chatterbox");
  await saveChatterbox(folder);
  const common = {
    port: 0,
    checkpointDir: dir,
    checkpointPath: folder,
    database: false,
    defaultModel: false,
    backend: "cpu",
    log: () => {},
  };
  strict = await startServeServer(common);
  lenient = await startServeServer({ ...common, truncatePrompts: true });
  client = new OpenAI({ baseURL: strict.url, apiKey: "x", maxRetries: 0 });
});

afterAll(async () => {
  await strict?.close();
  await lenient?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

const long = "x".repeat(200); // bytes-only tokenizer: 200 tokens, over the 32-token context

describe("prompts over the context", () => {
  it("are refused with 400 context_length_exceeded, chat and completions, streaming or not", async () => {
    for (const stream of [false, true]) {
      const err = await client.chat.completions
        .create({ model: "chatterbox", messages: [{ role: "user", content: long }], max_tokens: 4, stream })
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      const e = err as InstanceType<typeof OpenAI.BadRequestError>;
      expect(e.status).toBe(400);
      expect(e.code).toBe("context_length_exceeded");
      expect(e.param).toBe("messages");
      expect(e.message).toMatch(/maximum context length is 32 tokens/);
    }
    await expect(
      client.completions.create({ model: "chatterbox", prompt: long, max_tokens: 2 }),
    ).rejects.toMatchObject({ status: 400, code: "context_length_exceeded", param: "prompt" });
    // a short prompt whose max_tokens does not fit beside it is refused too; without max_tokens it
    // gets the room there is
    await expect(
      client.completions.create({ model: "chatterbox", prompt: "hello", max_tokens: 40 }),
    ).rejects.toMatchObject({ status: 400, code: "context_length_exceeded" });
    const fits = await client.completions.create({ model: "chatterbox", prompt: "hello", temperature: 0 });
    expect(fits.usage!.prompt_tokens + fits.usage!.completion_tokens).toBeLessThanOrEqual(CONTEXT);
  });

  it("are cut from the start when asked: truncate_prompt_tokens (vLLM), or a server started with --truncate-prompts", async () => {
    const body = {
      model: "chatterbox",
      prompt: long,
      max_tokens: 3,
      temperature: 0,
      truncate_prompt_tokens: 20,
    } as unknown as OpenAI.CompletionCreateParamsNonStreaming;
    const r = await client.completions.create(body);
    expect(r.usage!.prompt_tokens).toBeLessThanOrEqual(20);
    expect(r.usage!.completion_tokens).toBe(3);
    const lenientClient = new OpenAI({ baseURL: lenient.url, apiKey: "x", maxRetries: 0 });
    const l = await lenientClient.chat.completions.create({
      model: "chatterbox",
      messages: [{ role: "user", content: long }],
      max_tokens: 4,
      temperature: 0,
    });
    expect(l.usage!.prompt_tokens).toBeLessThanOrEqual(CONTEXT - 4);
  });
});

describe("special tokens", () => {
  it("are left out of message.content by default, streamed or not, and kept when asked", async () => {
    const req = {
      model: "chatterbox",
      messages: [{ role: "user" as const, content: "hi" }],
      max_tokens: 5,
      temperature: 0,
    };
    const raw = await client.chat.completions.create({
      ...req,
      skip_special_tokens: false,
    } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    expect(raw.choices[0]!.message.content).toBe("<|assistant|>".repeat(5)); // what the model says
    const plain = await client.chat.completions.create(req);
    expect(plain.choices[0]!.message.content).toBe("");
    expect(plain.usage!.completion_tokens).toBe(5);
    let streamed = "";
    for await (const c of await client.chat.completions.create({ ...req, stream: true }))
      streamed += c.choices[0]?.delta.content ?? "";
    expect(streamed).toBe("");
    const legacy = await client.completions.create({
      model: "chatterbox",
      prompt: "hi",
      max_tokens: 3,
      temperature: 0,
    });
    expect(legacy.choices[0]!.text).toBe("");
  });
});
