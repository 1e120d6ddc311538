// `pairwise serve`: Pairwise's own policy checkpoints over the OpenAI protocol, on node:http.
//   GET  /v1/models             promoted policy checkpoints (model id = checkpoint name) + a default
//   POST /v1/chat/completions   messages -> chat template -> sampling; streaming (SSE) or not;
//                               temperature, top_p, max_tokens, stop, n, seed
//   POST /v1/completions        raw text prompt(s), same sampling options
//   GET  /health
// Any OpenAI client works against it (the official SDK is tested), and so do Pairwise's own LLM
// judges and generation jobs. logprobs are not returned (null): judges then run without
// confidence from this endpoint. This file sets the server up and dispatches; each route is a
// handler in handlers.ts. A prompt over the model's context is refused (400
// context_length_exceeded) unless truncation is asked for (see handlers.ts).
import http from "node:http";
import crypto from "node:crypto";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { selectBackend } from "@/trainer";
import { env, maybeDatabaseUrl } from "../env";
import { DEFAULT_MODEL_ID, ModelRegistry, ensureDefaultModel, type ServedModel } from "./models";
import { errorBody } from "./protocol";
import { HttpError, Semaphore, nowSec, sendJson } from "./http";
import {
  chatCompletions,
  completions,
  health,
  listModels,
  retrieveModel,
  type ServeContext,
} from "./handlers";

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
  /** SFT steps on mini-R1 when the default model is first created (default 0: the shipped model). */
  defaultTrainSteps?: number;
  /** Generations running at once; more requests wait (default 4). */
  maxConcurrent?: number;
  /** Trim prompts over the model's context from the start instead of refusing them (default false). */
  truncatePrompts?: boolean;
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

const ROUTES: Record<
  string,
  (ctx: ServeContext, req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>
> = {
  "GET /health": health,
  "GET /v1/models": listModels,
  "POST /v1/chat/completions": chatCompletions,
  "POST /v1/completions": completions,
};
const KNOWN_PATHS = new Set(Object.keys(ROUTES).map((r) => r.split(" ")[1]!));

function checkApiKey(req: http.IncomingMessage, apiKey: string): void {
  const auth = req.headers.authorization ?? "";
  const given = Buffer.from(auth.startsWith("Bearer ") ? auth.slice(7) : "");
  const expected = Buffer.from(apiKey);
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected))
    throw new HttpError(
      401,
      "Incorrect or missing API key (send Authorization: Bearer <key>).",
      "invalid_request_error",
      "invalid_api_key",
    );
}

/** The served models: the --checkpoint folder, the default model, and the database's promoted ones. */
async function createRegistry(opts: ServeOptions, log: (m: string) => void): Promise<ModelRegistry> {
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
  return new ModelRegistry({
    fixed,
    listDatabase: useDb ? () => listPromotedCheckpoints(opts.checkpointDir) : undefined,
    log,
  });
}

export async function startServeServer(opts: ServeOptions): Promise<ServeServer> {
  const log = opts.log ?? ((m: string) => console.log(`[serve] ${m}`));
  const backend = await selectBackend({ force: opts.backend, log: (m) => log(m) });
  const registry = await createRegistry(opts, log);
  const gate = new Semaphore(Math.max(1, opts.maxConcurrent ?? 4));
  const apiKey = opts.apiKey ?? env().PAIRWISE_SERVE_API_KEY;
  const ctx: ServeContext = {
    backend,
    registry,
    fingerprint: `pairwise-${backend.name}`,
    truncatePrompts: opts.truncatePrompts ?? false,
    async acquireModel(entry) {
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
    },
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const pathname = url.pathname.replace(/\/+$/, "");
    const route = `${req.method} ${pathname}`;
    void (async () => {
      try {
        if (apiKey && route !== "GET /health") checkApiKey(req, apiKey);
        const handle = ROUTES[route];
        if (handle) return await handle(ctx, req, res);
        if (req.method === "GET" && pathname.startsWith("/v1/models/"))
          return await retrieveModel(ctx, res, decodeURIComponent(pathname.slice("/v1/models/".length)));
        const known = KNOWN_PATHS.has(pathname);
        throw new HttpError(
          known ? 405 : 404,
          known
            ? `${req.method} is not allowed on ${url.pathname}`
            : `Unknown path ${url.pathname}; this server speaks the OpenAI API under /v1.`,
        );
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
