// `pairwise serve` on a Hugging Face model folder (the Llama fixture made by transformers): the
// prompt is the model's chat template (as many tokens as transformers' apply_chat_template gives),
// and the reply stops at the template's end-of-turn token without showing it.
import os from "node:os";
import path from "node:path";
import { promises as fs, readFileSync } from "node:fs";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServeServer, type ServeServer } from "@/server/serve/server";

const FIX = path.resolve(import.meta.dirname, "../../fixtures/hf");
let server: ServeServer;
let client: OpenAI;
let dir: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "pw-serve-hf-"));
  server = await startServeServer({
    port: 0,
    checkpointDir: dir,
    checkpointPath: path.join(FIX, "llama"),
    database: false,
    defaultModel: false,
    backend: "cpu",
    log: () => {},
  });
  client = new OpenAI({ baseURL: server.url, apiKey: "not-needed", maxRetries: 0 });
});

afterAll(async () => {
  await server?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

describe("pairwise serve with a Hugging Face folder", () => {
  it("renders the chat template and keeps special tokens out of the reply", async () => {
    const expected = JSON.parse(readFileSync(path.join(FIX, "llama.expected.json"), "utf8")) as {
      chat: {
        messages: { role: "user"; content: string }[];
        add_generation_prompt: boolean;
        ids: number[];
      }[];
    };
    const c = expected.chat.find((x) => x.add_generation_prompt && x.messages.length === 1)!;
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(["llama"]);
    const r = await client.chat.completions.create({
      model: "llama",
      messages: c.messages,
      max_tokens: 12,
      temperature: 0,
    });
    expect(r.usage!.prompt_tokens).toBe(c.ids.length);
    const text = r.choices[0]!.message.content ?? "";
    expect(text).not.toMatch(/<\|(eot_id|start_header_id|end_header_id|begin_of_text)\|>/);
  });
});
