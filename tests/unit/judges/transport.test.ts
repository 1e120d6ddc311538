// Backoff, Retry-After and the per-judge limiter, with fake clocks and randomness.
import { describe, expect, it } from "vitest";
import {
  backoffDelay,
  DEFAULT_RETRY,
  EndpointError,
  parseRetryAfter,
  withRetries,
} from "@/server/judges/openai-client";
import { JudgeGate } from "@/server/judges/limiter";

describe("Retry-After", () => {
  it("reads delta-seconds and HTTP dates", () => {
    expect(parseRetryAfter("3")).toBe(3000);
    expect(parseRetryAfter("0.5")).toBe(500);
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:10 GMT", now)).toBe(10_000);
    expect(parseRetryAfter("garbage")).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });
});

describe("backoff", () => {
  it("is full-jitter exponential, capped", () => {
    const p = { ...DEFAULT_RETRY, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(0, p, undefined, () => 0.999)).toBe(100);
    expect(backoffDelay(3, p, undefined, () => 0.5)).toBe(400);
    expect(backoffDelay(10, p, undefined, () => 0.999)).toBe(999);
    expect(backoffDelay(2, p, undefined, () => 0)).toBe(0);
  });

  it("honours Retry-After with at most 10% jitter on top", () => {
    expect(backoffDelay(0, DEFAULT_RETRY, 2000, () => 0)).toBe(2000);
    expect(backoffDelay(0, DEFAULT_RETRY, 2000, () => 1)).toBe(2200);
  });
});

describe("withRetries", () => {
  const fast = { baseDelayMs: 1, maxDelayMs: 2 };

  it("retries retryable errors and returns the success", async () => {
    let calls = 0;
    const delays: number[] = [];
    const r = await withRetries(
      async () => {
        calls++;
        if (calls < 3)
          throw new EndpointError("rate_limited", "HTTP 429", {
            status: 429,
            retryAfterMs: 5,
            retryable: true,
          });
        return "ok";
      },
      { policy: fast, onRetry: (i) => delays.push(i.delayMs), random: () => 0 },
    );
    expect(r).toBe("ok");
    expect(calls).toBe(3);
    expect(delays).toEqual([5, 5]);
  });

  it("does not retry a refused key, and gives up after maxRetries with the count", async () => {
    let calls = 0;
    await expect(
      withRetries(async () => {
        calls++;
        throw new EndpointError("auth", "HTTP 401", { status: 401, retryable: false });
      }),
    ).rejects.toMatchObject({ kind: "auth" });
    expect(calls).toBe(1);
    calls = 0;
    await expect(
      withRetries(
        async () => {
          calls++;
          throw new EndpointError("server", "HTTP 500", { status: 500, retryable: true });
        },
        { policy: { ...fast, maxRetries: 2 } },
      ),
    ).rejects.toThrow(/HTTP 500 \(gave up after 3 tries\)/);
    expect(calls).toBe(3);
  });

  it("fails instead of stalling when Retry-After is beyond the allowed wait", async () => {
    await expect(
      withRetries(
        async () => {
          throw new EndpointError("rate_limited", "HTTP 429", {
            status: 429,
            retryAfterMs: 3_600_000,
            retryable: true,
          });
        },
        { policy: fast },
      ),
    ).rejects.toThrow(/asked to wait 3600 s/);
  });
});

describe("JudgeGate", () => {
  it("enforces requests per minute over a sliding window", () => {
    let t = 1_000_000;
    const g = new JudgeGate({ concurrency: 10, requestsPerMinute: 2 }, () => t);
    expect(g.waitMs(0)).toBe(0);
    return (async () => {
      (await g.acquire(0)).release();
      t += 10_000;
      (await g.acquire(0)).release();
      expect(g.waitMs(0)).toBe(50_000); // the first request leaves the window at +60 s
      t += 50_000;
      expect(g.waitMs(0)).toBe(0);
    })();
  });

  it("enforces tokens per minute with the real counts reported after the call", async () => {
    let t = 0;
    const g = new JudgeGate({ concurrency: 10, tokensPerMinute: 1000 }, () => t);
    const p = await g.acquire(900); // estimate
    p.release(300); // actual
    expect(g.waitMs(600)).toBe(0);
    (await g.acquire(600)).release(600);
    expect(g.waitMs(200)).toBe(60_000);
    t = 60_001;
    expect(g.waitMs(200)).toBe(0);
  });

  it("lets one request larger than the whole budget run once the window is empty", () => {
    const g = new JudgeGate({ concurrency: 1, tokensPerMinute: 100 }, () => 0);
    expect(g.waitMs(5000)).toBe(0);
  });

  it("pauses everyone after a Retry-After", () => {
    let t = 0;
    const g = new JudgeGate({ concurrency: 4 }, () => t);
    g.pauseUntil(1500);
    expect(g.waitMs(0)).toBe(1500);
    t = 2000;
    expect(g.waitMs(0)).toBe(0);
  });

  it("limits concurrency", async () => {
    const g = new JudgeGate({ concurrency: 2 });
    const a = await g.acquire(0);
    await g.acquire(0);
    let third = false;
    const p = g.acquire(0).then((x) => {
      third = true;
      return x;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(third).toBe(false);
    expect(g.inFlight).toBe(2);
    a.release();
    (await p).release();
    expect(third).toBe(true);
  });
});
