// The routes of `pairwise serve`, one handler each (server.ts dispatches to them):
//   GET  /health, GET /v1/models, GET /v1/models/{id}, POST /v1/chat/completions, POST /v1/completions
// Prompts over the model's context are refused with 400 `context_length_exceeded`, as OpenAI and
// vLLM do; a request may ask for left truncation (vLLM's `truncate_prompt_tokens`), or the server
// may be started with it on (`--truncate-prompts`). Special tokens are left out of the text unless
// a request sends `skip_special_tokens: false` (vLLM's default and name).
import type http from "node:http";
import crypto from "node:crypto";
import { generateStream, type BackendInfo, type ChatMessage, type GenerateResult } from "@/trainer";
import { fitPrompt, promptTokens } from "./fit";
import type { LoadedModel, ModelRegistry, ServedModel } from "./models";
import { ChatCompletionRequest, CompletionRequest, stopList, textOf, zodMessage } from "./protocol";
import { HttpError, SSE_HEADERS, newId, nowSec, readJson, sendJson } from "./http";

export const DEFAULT_MAX_TOKENS = 256;

/** What the handlers share: the models, the generation slots and the server's options. */
export interface ServeContext {
  backend: BackendInfo;
  registry: ModelRegistry;
  /** system_fingerprint of every answer. */
  fingerprint: string;
  /** Trim over-long prompts from the start instead of refusing them (`--truncate-prompts`). */
  truncatePrompts: boolean;
  /** A generation slot and the loaded model, released together. */
  acquireModel(entry: ServedModel): Promise<{ loaded: LoadedModel; release: () => void }>;
}

type Handler = (ctx: ServeContext, req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;

interface Sampling {
  maxTokens: number;
  temperature: number;
  topP: number;
  stop: string[];
  seed: number;
  skipSpecialTokens: boolean;
}

async function resolveModel(ctx: ServeContext, id: string): Promise<ServedModel> {
  const m = await ctx.registry.find(id);
  if (!m) {
    const ids = (await ctx.registry.list()).map((x) => x.id);
    throw new HttpError(
      404,
      `The model '${id}' does not exist. Served models: ${ids.join(", ") || "(none)"}.`,
      "invalid_request_error",
      "model_not_found",
      "model",
    );
  }
  return m;
}

function toTrainerMessages(messages: ChatCompletionRequest["messages"]): ChatMessage[] {
  return messages.map((m) => ({
    role: m.role === "developer" ? "system" : m.role,
    content: textOf(m.content),
  }));
}

function samplingOf(b: {
  temperature?: number | null;
  top_p?: number | null;
  stop?: string | string[] | null;
  seed?: number | null;
  skip_special_tokens?: boolean | null;
}): Omit<Sampling, "maxTokens"> {
  return {
    temperature: b.temperature ?? 1,
    topP: b.top_p ?? 1,
    stop: stopList(b.stop),
    seed: b.seed ?? crypto.randomInt(0, 2 ** 31 - 1),
    skipSpecialTokens: b.skip_special_tokens ?? true,
  };
}

/**
 * The prompt as it will run, and the tokens left for the answer. Refuses (400
 * context_length_exceeded) a prompt that leaves no room, or an explicit max_tokens that does not
 * fit beside it; an unset max_tokens takes what room there is (up to `defaultMax`), as vLLM does.
 */
export function fitRequest(
  ctx: Pick<ServeContext, "truncatePrompts">,
  lm: LoadedModel,
  prompt: string | ChatMessage[],
  o: {
    maxTokens: number | null | undefined;
    defaultMax: number;
    truncateTo: number | null | undefined;
    param: string;
  },
): { prompt: string | ChatMessage[]; maxTokens: number } {
  const context = lm.model.config.contextLength;
  let fitted = prompt;
  if (o.truncateTo != null)
    fitted = fitPrompt(lm.tokenizer, prompt, Math.min(o.truncateTo, context - 1)).prompt;
  else if (ctx.truncatePrompts)
    fitted = fitPrompt(
      lm.tokenizer,
      prompt,
      context - Math.min(o.maxTokens ?? o.defaultMax, Math.floor(context / 2)),
    ).prompt;
  const used = promptTokens(lm.tokenizer, fitted);
  const room = context - used;
  const asked = o.maxTokens ?? 1;
  if (room < 1 || (o.maxTokens != null && used + o.maxTokens > context && !ctx.truncatePrompts)) {
    throw new HttpError(
      400,
      `This model's maximum context length is ${context} tokens. However, you requested ${used + asked} tokens (${used} in the ${o.param}, ${asked} in the completion). Please reduce the length of the ${o.param} or completion, or send truncate_prompt_tokens to keep only the end of the prompt.`,
      "invalid_request_error",
      "context_length_exceeded",
      o.param,
    );
  }
  return { prompt: fitted, maxTokens: Math.min(o.maxTokens ?? o.defaultMax, room) };
}

/** Runs one generation, streaming pieces to `onPiece`; stops early when `isClosed()`. */
async function runGeneration(
  lm: LoadedModel,
  prompt: string | ChatMessage[],
  s: Sampling,
  onPiece: (text: string) => void,
  isClosed: () => boolean,
): Promise<GenerateResult> {
  const it = generateStream(lm.model, lm.tokenizer, prompt, {
    maxTokens: s.maxTokens,
    temperature: s.temperature,
    topP: s.topP,
    stop: s.stop,
    seed: s.seed,
    skipSpecialTokens: s.skipSpecialTokens,
  });
  for (;;) {
    if (isClosed()) {
      const r = await it.return(undefined as never);
      return (
        (r.value as GenerateResult | undefined) ?? {
          text: "",
          tokens: [],
          finishReason: "stop",
          promptTokens: 0,
          completionTokens: 0,
        }
      );
    }
    const r = await it.next();
    if (r.done) return r.value;
    if (r.value.text) onPiece(r.value.text);
    // Let other requests and socket events run between tokens.
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const usageOf = (promptTokens: number, completionTokens: number) => ({
  prompt_tokens: promptTokens,
  completion_tokens: completionTokens,
  total_tokens: promptTokens + completionTokens,
});

/** Watches the client: true once it went away before the answer was finished. */
function closedFlag(res: http.ServerResponse): () => boolean {
  let closed = false;
  res.on("close", () => (closed = !res.writableFinished));
  return () => closed;
}

// GET /health
export const health: Handler = async (ctx, _req, res) =>
  sendJson(res, 200, {
    ok: true,
    backend: ctx.backend.name,
    models: (await ctx.registry.list()).map((m) => m.id),
  });

const modelObject = (m: ServedModel) => ({
  id: m.id,
  object: "model",
  created: m.created,
  owned_by: "pairwise",
});

// GET /v1/models
export const listModels: Handler = async (ctx, _req, res) =>
  sendJson(res, 200, { object: "list", data: (await ctx.registry.list(true)).map(modelObject) });

// GET /v1/models/{id}
export async function retrieveModel(ctx: ServeContext, res: http.ServerResponse, id: string): Promise<void> {
  sendJson(res, 200, modelObject(await resolveModel(ctx, id)));
}

// POST /v1/chat/completions
export const chatCompletions: Handler = async (ctx, req, res) => {
  const parsed = ChatCompletionRequest.safeParse(await readJson(req));
  if (!parsed.success) {
    const z = zodMessage(parsed.error);
    throw new HttpError(400, z.message, "invalid_request_error", null, z.param);
  }
  const b = parsed.data;
  const entry = await resolveModel(ctx, b.model);
  const n = b.n ?? 1;
  const id = newId("chatcmpl");
  const created = nowSec();
  const { loaded, release } = await ctx.acquireModel(entry);
  try {
    // Before any byte is sent: a prompt that does not fit is a plain 400, streaming or not.
    const fit = fitRequest(ctx, loaded, toTrainerMessages(b.messages), {
      maxTokens: b.max_completion_tokens ?? b.max_tokens,
      defaultMax: DEFAULT_MAX_TOKENS,
      truncateTo: b.truncate_prompt_tokens,
      param: "messages",
    });
    const s: Sampling = { ...samplingOf(b), maxTokens: fit.maxTokens };
    const isClosed = closedFlag(res);
    const chunk = (choices: unknown[], usage?: unknown) => ({
      id,
      object: "chat.completion.chunk",
      created,
      model: entry.id,
      system_fingerprint: ctx.fingerprint,
      choices,
      ...(usage !== undefined ? { usage } : {}),
    });
    const send = (obj: unknown) => {
      if (!isClosed()) res.write(`data: ${JSON.stringify(obj)}\n\n`);
    };
    if (b.stream) res.writeHead(200, SSE_HEADERS);
    const choices: unknown[] = [];
    let promptTokens = 0;
    let completionTokens = 0;
    for (let i = 0; i < n && !isClosed(); i++) {
      if (b.stream)
        send(
          chunk([
            { index: i, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null },
          ]),
        );
      const r = await runGeneration(
        loaded,
        fit.prompt,
        { ...s, seed: s.seed + i },
        (text) =>
          b.stream &&
          send(chunk([{ index: i, delta: { content: text }, logprobs: null, finish_reason: null }])),
        isClosed,
      );
      if (b.stream) send(chunk([{ index: i, delta: {}, logprobs: null, finish_reason: r.finishReason }]));
      else
        choices.push({
          index: i,
          message: { role: "assistant", content: r.text, refusal: null },
          logprobs: null,
          finish_reason: r.finishReason,
        });
      promptTokens = r.promptTokens;
      completionTokens += r.completionTokens;
    }
    if (isClosed()) return;
    if (b.stream) {
      if (b.stream_options?.include_usage) send(chunk([], usageOf(promptTokens, completionTokens)));
      res.end("data: [DONE]\n\n");
      return;
    }
    sendJson(res, 200, {
      id,
      object: "chat.completion",
      created,
      model: entry.id,
      system_fingerprint: ctx.fingerprint,
      choices,
      usage: usageOf(promptTokens, completionTokens),
    });
  } finally {
    release();
  }
};

// POST /v1/completions
export const completions: Handler = async (ctx, req, res) => {
  const parsed = CompletionRequest.safeParse(await readJson(req));
  if (!parsed.success) {
    const z = zodMessage(parsed.error);
    throw new HttpError(400, z.message, "invalid_request_error", null, z.param);
  }
  const b = parsed.data;
  const entry = await resolveModel(ctx, b.model);
  const n = b.n ?? 1;
  const prompts = typeof b.prompt === "string" ? [b.prompt] : b.prompt;
  const id = newId("cmpl");
  const created = nowSec();
  const { loaded, release } = await ctx.acquireModel(entry);
  try {
    const fits = prompts.map((p) =>
      fitRequest(ctx, loaded, p, {
        maxTokens: b.max_tokens,
        defaultMax: 16, // OpenAI's default for /v1/completions
        truncateTo: b.truncate_prompt_tokens,
        param: "prompt",
      }),
    );
    const base = samplingOf(b);
    const isClosed = closedFlag(res);
    let promptTokens = 0;
    let completionTokens = 0;
    const chunk = (choices: unknown[], usage?: unknown) => ({
      id,
      object: "text_completion",
      created,
      model: entry.id,
      system_fingerprint: ctx.fingerprint,
      choices,
      ...(usage !== undefined ? { usage } : {}),
    });
    if (b.stream) res.writeHead(200, SSE_HEADERS);
    const send = (obj: unknown) => {
      if (!isClosed()) res.write(`data: ${JSON.stringify(obj)}\n\n`);
    };
    const choices: unknown[] = [];
    for (let p = 0; p < fits.length && !isClosed(); p++) {
      for (let i = 0; i < n && !isClosed(); i++) {
        const index = p * n + i;
        const r = await runGeneration(
          loaded,
          fits[p]!.prompt,
          { ...base, maxTokens: fits[p]!.maxTokens, seed: base.seed + index },
          (text) => b.stream && send(chunk([{ index, text, logprobs: null, finish_reason: null }])),
          isClosed,
        );
        if (b.stream) send(chunk([{ index, text: "", logprobs: null, finish_reason: r.finishReason }]));
        else choices.push({ index, text: r.text, logprobs: null, finish_reason: r.finishReason });
        if (i === 0) promptTokens += r.promptTokens;
        completionTokens += r.completionTokens;
      }
    }
    const usage = usageOf(promptTokens, completionTokens);
    if (isClosed()) return;
    if (b.stream) {
      if (b.stream_options?.include_usage) send(chunk([], usage));
      res.end("data: [DONE]\n\n");
    } else
      sendJson(res, 200, {
        id,
        object: "text_completion",
        created,
        model: entry.id,
        system_fingerprint: ctx.fingerprint,
        choices,
        usage,
      });
  } finally {
    release();
  }
};
