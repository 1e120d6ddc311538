// A small client for OpenAI-compatible chat-completions endpoints (vLLM, Ollama, llama.cpp server,
// OpenAI, DeepSeek, `pairwise serve`). One request per call; `withRetries` adds backoff.
//
// Every failure becomes an EndpointError that says whether retrying can help: 429, 5xx, 408,
// timeouts, dropped connections, empty or truncated bodies are retryable; 400/401/403/404 are not
// (retrying a wrong key or model name only burns the budget).
export interface ChatMessageIn {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface ChatRequest {
  baseUrl: string;
  apiKey?: string | null;
  model: string;
  messages: ChatMessageIn[];
  temperature?: number;
  topP?: number;
  maxTokens?: number;
  stop?: string[];
  seed?: number;
  n?: number;
  /** Ask for logprobs of the reply tokens (and the top alternatives at each position). */
  logprobs?: boolean;
  topLogprobs?: number;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface ChatChoice {
  text: string | null;
  finishReason: string | null;
  logprobs:
    { token: string; logprob: number; top_logprobs?: { token: string; logprob: number }[] | null }[] | null;
}

export interface ChatResult {
  choices: ChatChoice[];
  /** Token counts as the endpoint reported them (null when it did not). */
  usage: { promptTokens: number; completionTokens: number } | null;
  latencyMs: number;
  model: string | null;
}

export type EndpointErrorKind =
  "rate_limited" | "server" | "timeout" | "network" | "bad_response" | "auth" | "client" | "cancelled";

export class EndpointError extends Error {
  constructor(
    readonly kind: EndpointErrorKind,
    message: string,
    readonly opts: { status?: number; retryAfterMs?: number; retryable: boolean },
  ) {
    super(message);
    this.name = "EndpointError";
  }
  get retryable(): boolean {
    return this.opts.retryable;
  }
}

/** Retry-After: delta-seconds or an HTTP-date. Returns milliseconds, or undefined. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, t - now);
}

export function chatCompletionsUrl(baseUrl: string): string {
  const b = baseUrl.replace(/\/+$/, "");
  return /\/chat\/completions$/.test(b) ? b : `${b}/chat/completions`;
}

function snippet(s: string, n = 200): string {
  const one = s.replace(/\s+/g, " ").trim();
  return one.length > n ? `${one.slice(0, n)}…` : one;
}

/** One chat-completions request. Throws EndpointError. */
export async function chatCompletion(req: ChatRequest): Promise<ChatResult> {
  const url = chatCompletionsUrl(req.baseUrl);
  const body: Record<string, unknown> = {
    model: req.model,
    messages: req.messages,
    stream: false,
  };
  if (req.temperature !== undefined) body.temperature = req.temperature;
  if (req.topP !== undefined) body.top_p = req.topP;
  if (req.maxTokens !== undefined) body.max_tokens = req.maxTokens;
  if (req.stop?.length) body.stop = req.stop;
  if (req.seed !== undefined) body.seed = req.seed;
  if (req.n !== undefined && req.n !== 1) body.n = req.n;
  if (req.logprobs) {
    body.logprobs = true;
    body.top_logprobs = req.topLogprobs ?? 5;
  }
  const timeout = AbortSignal.timeout(req.timeoutMs);
  const signal = req.signal ? AbortSignal.any([timeout, req.signal]) : timeout;
  const started = performance.now();
  const fail = (e: unknown): never => {
    if (req.signal?.aborted) throw new EndpointError("cancelled", "request cancelled", { retryable: false });
    if (timeout.aborted)
      throw new EndpointError("timeout", `no complete reply within ${req.timeoutMs} ms`, { retryable: true });
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new EndpointError(
      "network",
      `could not reach ${url}: ${cause?.code ?? cause?.message ?? (e as Error).message}`,
      { retryable: true },
    );
  };
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json",
        ...(req.apiKey ? { authorization: `Bearer ${req.apiKey}` } : {}),
      },
      body: JSON.stringify(body),
      signal,
    });
  } catch (e) {
    return fail(e);
  }
  let text: string;
  try {
    text = await res.text();
  } catch (e) {
    return fail(e);
  }
  const latencyMs = Math.round(performance.now() - started);
  if (!res.ok) {
    const retryAfterMs = parseRetryAfter(res.headers.get("retry-after"));
    let detail = snippet(text);
    try {
      const j = JSON.parse(text) as { error?: { message?: string } | string; message?: string };
      detail = typeof j.error === "string" ? j.error : (j.error?.message ?? j.message ?? detail);
    } catch {
      /* not JSON: keep the snippet */
    }
    const what = `HTTP ${res.status}${detail ? `: ${snippet(detail)}` : ""}`;
    if (res.status === 429)
      throw new EndpointError("rate_limited", what, { status: 429, retryAfterMs, retryable: true });
    if (res.status >= 500 || res.status === 408)
      throw new EndpointError("server", what, { status: res.status, retryAfterMs, retryable: true });
    if (res.status === 401 || res.status === 403) {
      throw new EndpointError(
        "auth",
        `${what} (the endpoint refused the API key; set a valid key on the judge)`,
        { status: res.status, retryable: false },
      );
    }
    throw new EndpointError("client", `${what} (check the judge's base URL and model name)`, {
      status: res.status,
      retryable: false,
    });
  }
  if (text.trim() === "")
    throw new EndpointError("bad_response", "HTTP 200 with an empty body", {
      status: res.status,
      retryable: true,
    });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new EndpointError(
      "bad_response",
      `HTTP 200 with a truncated or invalid JSON body (${text.length} bytes: ${snippet(text, 80)})`,
      {
        status: res.status,
        retryable: true,
      },
    );
  }
  const j = json as {
    model?: string;
    choices?: {
      message?: { content?: string | null };
      finish_reason?: string | null;
      logprobs?: { content?: ChatChoice["logprobs"] } | null;
    }[];
    usage?: { prompt_tokens?: number; completion_tokens?: number };
  };
  if (!Array.isArray(j.choices) || j.choices.length === 0) {
    throw new EndpointError("bad_response", `HTTP 200 but the body has no "choices" (${snippet(text, 80)})`, {
      status: res.status,
      retryable: true,
    });
  }
  return {
    choices: j.choices.map((c) => ({
      text: typeof c.message?.content === "string" ? c.message.content : null,
      finishReason: c.finish_reason ?? null,
      logprobs: Array.isArray(c.logprobs?.content) ? c.logprobs.content : null,
    })),
    usage:
      j.usage && typeof j.usage.prompt_tokens === "number"
        ? { promptTokens: j.usage.prompt_tokens, completionTokens: j.usage.completion_tokens ?? 0 }
        : null,
    latencyMs,
    model: j.model ?? null,
  };
}

export interface RetryPolicy {
  /** Retries after the first try (default 4). */
  maxRetries: number;
  /** First backoff ceiling; doubles each retry (default 1000 ms). */
  baseDelayMs: number;
  /** Backoff ceiling (default 30 s). */
  maxDelayMs: number;
  /** A Retry-After longer than this fails the request instead of stalling the run (default 5 min). */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxRetries: 4,
  baseDelayMs: 1000,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 300_000,
};

/**
 * Delay before retry number `retry` (0-based): the server's Retry-After when given (plus up to 10%
 * jitter so parallel workers do not return in lockstep), else "full jitter" exponential backoff.
 */
export function backoffDelay(
  retry: number,
  policy: RetryPolicy,
  retryAfterMs: number | undefined,
  random = Math.random,
): number {
  if (retryAfterMs !== undefined) return Math.round(retryAfterMs * (1 + 0.1 * random()));
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return Math.round(ceiling * random());
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted)
      return reject(new EndpointError("cancelled", "request cancelled", { retryable: false }));
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new EndpointError("cancelled", "request cancelled", { retryable: false }));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export interface RetryInfo {
  retry: number;
  delayMs: number;
  error: EndpointError;
}

/**
 * Runs `fn` until it succeeds, fails with a non-retryable error, or retries run out (then the last
 * error is thrown with the retry count in its message).
 */
export async function withRetries<T>(
  fn: () => Promise<T>,
  o: {
    policy?: Partial<RetryPolicy>;
    signal?: AbortSignal;
    onRetry?: (i: RetryInfo) => void;
    random?: () => number;
  } = {},
): Promise<T> {
  const policy = { ...DEFAULT_RETRY, ...o.policy };
  for (let retry = 0; ; retry++) {
    try {
      return await fn();
    } catch (e) {
      const err =
        e instanceof EndpointError
          ? e
          : new EndpointError("network", (e as Error).message, { retryable: false });
      if (!err.retryable) throw err;
      if (retry >= policy.maxRetries) {
        throw new EndpointError(err.kind, `${err.message} (gave up after ${retry + 1} tries)`, {
          ...err.opts,
          retryable: false,
        });
      }
      if (err.opts.retryAfterMs !== undefined && err.opts.retryAfterMs > policy.maxRetryAfterMs) {
        throw new EndpointError(
          err.kind,
          `${err.message}; the endpoint asked to wait ${Math.round(err.opts.retryAfterMs / 1000)} s, more than the ${Math.round(policy.maxRetryAfterMs / 1000)} s allowed`,
          { ...err.opts, retryable: false },
        );
      }
      const delayMs = backoffDelay(retry, policy, err.opts.retryAfterMs, o.random);
      o.onRetry?.({ retry, delayMs, error: err });
      await sleep(delayMs, o.signal);
    }
  }
}
