// `pairwise serve`: Pairwise's own policy checkpoints over the OpenAI protocol, on node:http.
//   GET  /v1/models             promoted policy checkpoints (model id = checkpoint name) + a default
//   POST /v1/chat/completions   messages -> chat template -> sampling; streaming (SSE) or not;
//                               temperature, top_p, max_tokens, stop, n, seed
//   POST /v1/completions        raw text prompt(s), same sampling options
//   GET  /health
// Any OpenAI client works against it (the official SDK is tested), and so do Pairwise's own LLM
// judges and generation jobs. logprobs are not returned (null): judges then run without
// confidence from this endpoint.
import http from "node:http";
import crypto from "node:crypto";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { generateStream, selectBackend, type ChatMessage, type GenerateResult } from "@/trainer";
import { env, maybeDatabaseUrl } from "../env";
import { fitPrompt } from "./fit";
import {
  DEFAULT_MODEL_ID,
  ModelRegistry,
  ensureDefaultModel,
  type LoadedModel,
  type ServedModel,
} from "./models";
import {
  ChatCompletionRequest,
  CompletionRequest,
  errorBody,
  stopList,
  textOf,
  zodMessage,
} from "./protocol";

export interface ServeOptions {
  port: number;
  host?: string;
  /** The checkpoint store; the default model is created under it (<dir>/_serve/pairwise-tiny). */
  checkpointDir?: string;
  /** Serve this checkpoint folder too (model id = its folder name). */
  checkpointPath?: string;
  /** List promoted checkpoints from the database (default: when DATABASE_URL is set). */
  database?: boolean;
  /** Require "Authorization: Bearer <apiKey>" (default: PAIRWISE_SERVE_API_KEY; unset = no key, bind to localhost). */
  apiKey?: string;
  /** Serve the default tiny model (default true). */
  defaultModel?: boolean;
  /** SFT steps on mini-R1 when the default model is first created (default 0: random weights). */
  defaultTrainSteps?: number;
  /** Generations running at once; more requests wait (default 4). */
  maxConcurrent?: number;
  /** tfjs backend to force (default: the best available). */
  backend?: string;
  log?: (msg: string) => void;
}

export interface ServeServer {
  url: string;
  port: number;
  close(): Promise<void>;
  models(): Promise<ServedModel[]>;
}

const MAX_BODY = 4 * 1024 * 1024;
const DEFAULT_MAX_TOKENS = 256;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = "invalid_request_error",
    readonly code: string | null = null,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

class Semaphore {
  private active = 0;
  private queue: Array<() => void> = [];
  constructor(private readonly max: number) {}
  async acquire(): Promise<() => void> {
    if (this.active >= this.max) await new Promise<void>((r) => this.queue.push(r));
    this.active++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.active--;
      this.queue.shift()?.();
    };
  }
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, `request body over ${MAX_BODY} bytes`);
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (!text.trim()) throw new HttpError(400, "request body is empty; send a JSON object");
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, `request body is not valid JSON: ${(e as Error).message}`);
  }
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(data) });
  res.end(data);
}

const newId = (prefix: string) => `${prefix}-${crypto.randomBytes(12).toString("hex")}`;
const nowSec = () => Math.floor(Date.now() / 1000);

function toTrainerMessages(messages: ChatCompletionRequest["messages"]): ChatMessage[] {
  return messages.map((m) => ({
    role: m.role === "developer" ? "system" : m.role,
    content: textOf(m.content),
  }));
}

const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  connection: "keep-alive",
};

export async function startServeServer(opts: ServeOptions): Promise<ServeServer> {
  const log = opts.log ?? ((m: string) => console.log(`[serve] ${m}`));
  const backend = await selectBackend({ force: opts.backend, log: (m) => log(m) });
  const fixed: ServedModel[] = [];
  if (opts.checkpointPath) {
    const p = path.resolve(opts.checkpointPath);
    fixed.push({ id: path.basename(p), path: p, checkpointId: null, created: nowSec(), source: "path" });
  }
  if (opts.defaultModel !== false) {
    const dir = path.join(
      path.resolve(opts.checkpointDir ?? ".data/checkpoints"),
      "_serve",
      DEFAULT_MODEL_ID,
    );
    await ensureDefaultModel(dir, { trainSteps: opts.defaultTrainSteps, log });
    fixed.push({ id: DEFAULT_MODEL_ID, path: dir, checkpointId: null, created: nowSec(), source: "default" });
  }
  const useDb = opts.database ?? Boolean(maybeDatabaseUrl());
  const registry = new ModelRegistry({
    fixed,
    listDatabase: useDb ? () => listPromotedCheckpoints(opts.checkpointDir) : undefined,
    log,
  });
  const gate = new Semaphore(Math.max(1, opts.maxConcurrent ?? 4));
  const apiKey = opts.apiKey ?? env().PAIRWISE_SERVE_API_KEY;
  const fingerprint = `pairwise-${backend.name}`;

  /** A generation slot and the loaded model, released together (release() frees both). */
  async function acquireModel(entry: ServedModel) {
    const releaseGate = await gate.acquire();
    const acquired = await registry.acquire(entry).catch((e: Error) => {
      releaseGate();
      throw new HttpError(500, `could not load model '${entry.id}': ${e.message}`, "server_error");
    });
    return {
      loaded: acquired.loaded,
      release: () => {
        acquired.release();
        releaseGate();
      },
    };
  }

  async function resolveModel(id: string): Promise<ServedModel> {
    const m = await registry.find(id);
    if (!m) {
      const ids = (await registry.list()).map((x) => x.id);
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

  /** Runs one generation, streaming pieces to `onPiece`; stops early when `isClosed()`. */
  async function runGeneration(
    lm: LoadedModel,
    prompt: string | ChatMessage[],
    s: { maxTokens: number; temperature: number; topP: number; stop: string[]; seed: number },
    onPiece: (text: string) => void,
    isClosed: () => boolean,
  ): Promise<GenerateResult> {
    const ctx = lm.model.config.contextLength;
    // Leave room for the answer: trim a long prompt from the start (see fit.ts).
    const fitted = fitPrompt(lm.tokenizer, prompt, ctx - Math.min(s.maxTokens, Math.floor(ctx / 2)));
    const it = generateStream(lm.model, lm.tokenizer, fitted.prompt, {
      maxTokens: Math.min(s.maxTokens, ctx),
      temperature: s.temperature,
      topP: s.topP,
      stop: s.stop,
      seed: s.seed,
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

  function samplingOf(
    b: {
      temperature?: number | null;
      top_p?: number | null;
      stop?: string | string[] | null;
      seed?: number | null;
    },
    maxTokens: number | null | undefined,
  ) {
    return {
      maxTokens: maxTokens ?? DEFAULT_MAX_TOKENS,
      temperature: b.temperature ?? 1,
      topP: b.top_p ?? 1,
      stop: stopList(b.stop),
      seed: b.seed ?? crypto.randomInt(0, 2 ** 31 - 1),
    };
  }

  async function chat(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const parsed = ChatCompletionRequest.safeParse(await readJson(req));
    if (!parsed.success) {
      const z = zodMessage(parsed.error);
      throw new HttpError(400, z.message, "invalid_request_error", null, z.param);
    }
    const b = parsed.data;
    const entry = await resolveModel(b.model);
    const n = b.n ?? 1;
    const s = samplingOf(b, b.max_completion_tokens ?? b.max_tokens);
    const messages = toTrainerMessages(b.messages);
    const id = newId("chatcmpl");
    const created = nowSec();
    const { loaded, release } = await acquireModel(entry);
    let closed = false;
    res.on("close", () => (closed = !res.writableFinished));
    try {
      if (b.stream) {
        res.writeHead(200, SSE_HEADERS);
        const send = (obj: unknown) => {
          if (!closed) res.write(`data: ${JSON.stringify(obj)}\n\n`);
        };
        const chunk = (choices: unknown[], usage?: unknown) => ({
          id,
          object: "chat.completion.chunk",
          created,
          model: entry.id,
          system_fingerprint: fingerprint,
          choices,
          ...(usage !== undefined ? { usage } : {}),
        });
        let promptTokens = 0;
        let completionTokens = 0;
        for (let i = 0; i < n && !closed; i++) {
          send(
            chunk([
              { index: i, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null },
            ]),
          );
          const r = await runGeneration(
            loaded,
            messages,
            { ...s, seed: s.seed + i },
            (text) =>
              send(chunk([{ index: i, delta: { content: text }, logprobs: null, finish_reason: null }])),
            () => closed,
          );
          send(chunk([{ index: i, delta: {}, logprobs: null, finish_reason: r.finishReason }]));
          promptTokens = r.promptTokens;
          completionTokens += r.completionTokens;
        }
        if (b.stream_options?.include_usage)
          send(
            chunk([], {
              prompt_tokens: promptTokens,
              completion_tokens: completionTokens,
              total_tokens: promptTokens + completionTokens,
            }),
          );
        if (!closed) res.end("data: [DONE]\n\n");
        return;
      }
      const choices: unknown[] = [];
      let promptTokens = 0;
      let completionTokens = 0;
      for (let i = 0; i < n; i++) {
        const r = await runGeneration(
          loaded,
          messages,
          { ...s, seed: s.seed + i },
          () => {},
          () => closed,
        );
        choices.push({
          index: i,
          message: { role: "assistant", content: r.text, refusal: null },
          logprobs: null,
          finish_reason: r.finishReason,
        });
        promptTokens = r.promptTokens;
        completionTokens += r.completionTokens;
      }
      if (closed) return;
      sendJson(res, 200, {
        id,
        object: "chat.completion",
        created,
        model: entry.id,
        system_fingerprint: fingerprint,
        choices,
        usage: {
          prompt_tokens: promptTokens,
          completion_tokens: completionTokens,
          total_tokens: promptTokens + completionTokens,
        },
      });
    } finally {
      release();
    }
  }

  async function completions(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const parsed = CompletionRequest.safeParse(await readJson(req));
    if (!parsed.success) {
      const z = zodMessage(parsed.error);
      throw new HttpError(400, z.message, "invalid_request_error", null, z.param);
    }
    const b = parsed.data;
    const entry = await resolveModel(b.model);
    const n = b.n ?? 1;
    const s = samplingOf(b, b.max_tokens ?? 16); // OpenAI's default for /v1/completions
    const prompts = typeof b.prompt === "string" ? [b.prompt] : b.prompt;
    const id = newId("cmpl");
    const created = nowSec();
    const { loaded, release } = await acquireModel(entry);
    let closed = false;
    res.on("close", () => (closed = !res.writableFinished));
    try {
      let promptTokens = 0;
      let completionTokens = 0;
      const chunk = (choices: unknown[], usage?: unknown) => ({
        id,
        object: "text_completion",
        created,
        model: entry.id,
        system_fingerprint: fingerprint,
        choices,
        ...(usage !== undefined ? { usage } : {}),
      });
      if (b.stream) res.writeHead(200, SSE_HEADERS);
      const send = (obj: unknown) => {
        if (!closed) res.write(`data: ${JSON.stringify(obj)}\n\n`);
      };
      const choices: unknown[] = [];
      for (let p = 0; p < prompts.length && !closed; p++) {
        for (let i = 0; i < n && !closed; i++) {
          const index = p * n + i;
          const r = await runGeneration(
            loaded,
            prompts[p] as string,
            { ...s, seed: s.seed + index },
            (text) => b.stream && send(chunk([{ index, text, logprobs: null, finish_reason: null }])),
            () => closed,
          );
          if (b.stream) send(chunk([{ index, text: "", logprobs: null, finish_reason: r.finishReason }]));
          else choices.push({ index, text: r.text, logprobs: null, finish_reason: r.finishReason });
          if (i === 0) promptTokens += r.promptTokens;
          completionTokens += r.completionTokens;
        }
      }
      const usage = {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
      };
      if (closed) return;
      if (b.stream) {
        if (b.stream_options?.include_usage) send(chunk([], usage));
        res.end("data: [DONE]\n\n");
      } else
        sendJson(res, 200, {
          id,
          object: "text_completion",
          created,
          model: entry.id,
          system_fingerprint: fingerprint,
          choices,
          usage,
        });
    } finally {
      release();
    }
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const route = `${req.method} ${url.pathname.replace(/\/+$/, "")}`;
    void (async () => {
      try {
        if (apiKey && route !== "GET /health") {
          const auth = req.headers.authorization ?? "";
          const given = auth.startsWith("Bearer ") ? auth.slice(7) : "";
          const a = Buffer.from(given);
          const e = Buffer.from(apiKey);
          if (a.length !== e.length || !crypto.timingSafeEqual(a, e))
            throw new HttpError(
              401,
              "Incorrect or missing API key (send Authorization: Bearer <key>).",
              "invalid_request_error",
              "invalid_api_key",
            );
        }
        switch (route) {
          case "GET /health":
            return sendJson(res, 200, {
              ok: true,
              backend: backend.name,
              models: (await registry.list()).map((m) => m.id),
            });
          case "GET /v1/models": {
            const models = await registry.list(true);
            return sendJson(res, 200, {
              object: "list",
              data: models.map((m) => ({
                id: m.id,
                object: "model",
                created: m.created,
                owned_by: "pairwise",
              })),
            });
          }
          case "POST /v1/chat/completions":
            return await chat(req, res);
          case "POST /v1/completions":
            return await completions(req, res);
          default: {
            if (url.pathname.startsWith("/v1/models/") && req.method === "GET") {
              const m = await resolveModel(decodeURIComponent(url.pathname.slice("/v1/models/".length)));
              return sendJson(res, 200, {
                id: m.id,
                object: "model",
                created: m.created,
                owned_by: "pairwise",
              });
            }
            const known = ["/v1/chat/completions", "/v1/completions", "/v1/models", "/health"].includes(
              url.pathname.replace(/\/+$/, ""),
            );
            throw new HttpError(
              known ? 405 : 404,
              known
                ? `${req.method} is not allowed on ${url.pathname}`
                : `Unknown path ${url.pathname}; this server speaks the OpenAI API under /v1.`,
            );
          }
        }
      } catch (e) {
        const err =
          e instanceof HttpError
            ? e
            : new HttpError(500, `generation failed: ${(e as Error).message}`, "server_error");
        if (!(e instanceof HttpError)) log(`error on ${route}: ${(e as Error).stack ?? e}`);
        if (res.headersSent) {
          // Mid-stream: report in the stream and end it (OpenAI clients surface `error` events).
          if (!res.writableEnded)
            res.end(`data: ${JSON.stringify(errorBody(err.message, err.type, err.code))}\n\n`);
          return;
        }
        sendJson(res, err.status, errorBody(err.message, err.type, err.code, err.param));
      }
    })();
  });
  server.keepAliveTimeout = 5_000;
  const host = opts.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  const url = `http://${shownHost.includes(":") ? `[${shownHost}]` : shownHost}:${port}/v1`;
  log(
    `OpenAI-compatible server on ${url} (backend ${backend.name}; models: ${(await registry.list()).map((m) => m.id).join(", ")})`,
  );
  return {
    url,
    port,
    models: () => registry.list(true),
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await registry.close();
    },
  };
}

/** Promoted policy (and SFT) checkpoints in the database, newest first; model id = checkpoint name. */
async function listPromotedCheckpoints(checkpointDir: string | undefined): Promise<ServedModel[]> {
  const { db } = await import("../db/client");
  const rows = await db().checkpoint.findMany({
    where: { kind: { in: ["policy", "sft"] }, promoted: true },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    select: { id: true, name: true, path: true, createdAt: true },
  });
  const root = path.resolve(checkpointDir ?? ".data/checkpoints");
  return rows.map((r) => ({
    id: r.name,
    path: path.isAbsolute(r.path) ? r.path : path.join(root, r.path),
    checkpointId: r.id,
    created: Math.floor(r.createdAt.getTime() / 1000),
    source: "database" as const,
  }));
}
