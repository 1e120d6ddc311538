// Per-judge traffic control inside one process: a concurrency gate plus sliding-window limits on
// requests and tokens per minute, and a shared pause when the endpoint answers 429 with
// Retry-After (so parallel requests of the same judge back off together).
//
// Limits are per process: with several workers, set each judge's limits to the endpoint's quota
// divided by the number of workers.
const WINDOW_MS = 60_000;

export interface GateLimits {
  concurrency: number;
  requestsPerMinute?: number | null;
  tokensPerMinute?: number | null;
}

export interface Permit {
  /** Report the real token count (prompt + completion) once known; releases the concurrency slot. */
  release(actualTokens?: number): void;
}

export class JudgeGate {
  private active = 0;
  private waiters: Array<() => void> = [];
  private requests: number[] = []; // timestamps
  private tokens: Array<{ at: number; n: number }> = [];
  private pausedUntil = 0;

  constructor(
    public limits: GateLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** Everyone waits until `until` (a 429 with Retry-After). */
  pauseUntil(until: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, until);
  }

  private prune(t: number): void {
    while (this.requests.length && (this.requests[0] as number) <= t - WINDOW_MS) this.requests.shift();
    while (this.tokens.length && (this.tokens[0] as { at: number }).at <= t - WINDOW_MS) this.tokens.shift();
  }

  private tokenSum(): number {
    let s = 0;
    for (const x of this.tokens) s += x.n;
    return s;
  }

  /** How long until a request estimated at `estTokens` may start (0 = now). */
  waitMs(estTokens: number): number {
    const t = this.now();
    this.prune(t);
    let wait = Math.max(0, this.pausedUntil - t);
    const rpm = this.limits.requestsPerMinute;
    if (rpm && this.requests.length >= rpm)
      wait = Math.max(wait, (this.requests[this.requests.length - rpm] as number) + WINDOW_MS - t);
    const tpm = this.limits.tokensPerMinute;
    if (tpm && this.tokens.length) {
      // A request larger than the whole budget still runs once the window is empty.
      let over = this.tokenSum() + Math.min(estTokens, tpm) - tpm;
      for (const x of this.tokens) {
        if (over <= 0) break;
        over -= x.n;
        wait = Math.max(wait, x.at + WINDOW_MS - t);
      }
    }
    return wait;
  }

  /** Waits for a concurrency slot and for the rate limits, then records the request. */
  async acquire(estTokens: number, signal?: AbortSignal): Promise<Permit> {
    while (this.active >= Math.max(1, this.limits.concurrency)) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    this.active++;
    try {
      for (;;) {
        if (signal?.aborted) throw new Error("cancelled");
        const w = this.waitMs(estTokens);
        if (w <= 0) break;
        await new Promise((r) => setTimeout(r, Math.min(w, 1000)));
      }
    } catch (e) {
      this.releaseSlot();
      throw e;
    }
    const at = this.now();
    this.requests.push(at);
    const entry = { at, n: estTokens };
    this.tokens.push(entry);
    let released = false;
    return {
      release: (actual?: number) => {
        if (released) return;
        released = true;
        if (actual !== undefined) entry.n = actual;
        this.releaseSlot();
      },
    };
  }

  private releaseSlot(): void {
    this.active--;
    this.waiters.shift()?.();
  }

  get inFlight(): number {
    return this.active;
  }
}

const gates = new Map<string, JudgeGate>();

/** The process-wide gate of a judge; limits follow the latest configuration. */
export function gateFor(judgeConfigId: string, limits: GateLimits): JudgeGate {
  let g = gates.get(judgeConfigId);
  if (!g) {
    g = new JudgeGate(limits);
    gates.set(judgeConfigId, g);
  } else g.limits = limits;
  return g;
}
