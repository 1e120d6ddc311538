// Abuse limits: sign-in attempts, API token use and imports, per account and per client address,
// counted in PostgreSQL ("RateLimit", one row per bucket and key) so that every web process shares
// them. Windows are fixed and aligned to the database's clock, so all processes agree on them;
// an answer over the limit is a 429 with Retry-After (the seconds until the window ends).
//
// Sign-in, invalid tokens and imports count synchronously: one upsert per attempt. Valid tokens
// are the annotators' hot path (hundreds of requests a second), so each process counts them
// locally and adds its count to the shared row at most every SYNC_MS (or sooner when it nears the
// limit): the shared total is then at most SYNC_MS behind, per process.
// No "server-only" import: the web process's fast lane uses it too.
import { appSql } from "../db/client";
import { env } from "../env";
import { DomainError } from "../errors";

export const BUCKETS = {
  /** Sign-in attempts from one address (any account). */
  "signin.ip": { limit: 60, seconds: 600, strict: true },
  /** Sign-in attempts on one account (any address): stops password guessing. */
  "signin.account": { limit: 10, seconds: 600, strict: true },
  /** Requests with one user's API tokens. */
  "token.account": { limit: 3_000, seconds: 60, strict: false },
  /** Requests with API tokens from one address (all users behind it). */
  "token.ip": { limit: 120_000, seconds: 60, strict: false },
  /** Requests with a token that does not exist, from one address: stops token guessing. */
  "token.invalid_ip": { limit: 60, seconds: 600, strict: true },
  /** Imports started by one user. */
  "import.account": { limit: 60, seconds: 3600, strict: true },
  /** Imports started from one address. */
  "import.ip": { limit: 120, seconds: 3600, strict: true },
} as const;
export type Bucket = keyof typeof BUCKETS;
interface Limit {
  limit: number;
  seconds: number;
  strict: boolean;
}

let parsed: { raw: string | undefined; limits: Record<Bucket, Limit> | null } | undefined;
/** The limits in force: the defaults with PAIRWISE_RATE_LIMITS's overrides; null when "off". */
export function rateLimits(): Record<Bucket, Limit> | null {
  const raw = env().PAIRWISE_RATE_LIMITS?.trim();
  if (parsed && parsed.raw === raw) return parsed.limits;
  let limits: Record<Bucket, Limit> | null = { ...BUCKETS };
  if (raw === "off") limits = null;
  else if (raw) {
    for (const part of raw
      .split(",")
      .map((p) => p.trim())
      .filter(Boolean)) {
      const m = /^([a-z_.]+)=(\d+)\/(\d+)$/.exec(part);
      if (!m || !(m[1]! in BUCKETS))
        throw new Error(
          `PAIRWISE_RATE_LIMITS: "${part}" is not bucket=limit/seconds with a bucket among ${Object.keys(BUCKETS).join(", ")}`,
        );
      const b = m[1] as Bucket;
      limits[b] = { ...BUCKETS[b], limit: Number(m[2]), seconds: Math.max(1, Number(m[3])) };
    }
  }
  parsed = { raw, limits };
  return limits;
}

export type Verdict = { ok: true } | { ok: false; retryAfterSeconds: number };

const UPSERT = `
  WITH w AS (
    SELECT to_timestamp(floor(extract(epoch FROM clock_timestamp()) / $3::int) * $3::int) AT TIME ZONE 'UTC' AS ws
  )
  INSERT INTO "RateLimit" (bucket, key, "windowStart", count)
  SELECT $1::text, $2::text, ws, $4::int FROM w
  ON CONFLICT (bucket, key) DO UPDATE SET
    count = CASE WHEN "RateLimit"."windowStart" = EXCLUDED."windowStart"
                 THEN "RateLimit".count + EXCLUDED.count ELSE EXCLUDED.count END,
    "windowStart" = EXCLUDED."windowStart"
  RETURNING count,
    greatest(1, ceil(extract(epoch FROM ("windowStart" + make_interval(secs => $3::int))
                                        - (clock_timestamp() AT TIME ZONE 'UTC'))))::int AS "retryAfter"`;

async function add(bucket: Bucket, key: string, n: number, l: Limit) {
  const rows = await appSql().query<{ count: number; retryAfter: number }>(UPSERT, [
    bucket,
    key,
    l.seconds,
    n,
  ]);
  return rows[0]!;
}

// Local counts of the batched buckets: per bucket and key.
const SYNC_MS = 1_000;
interface Local {
  /** The shared count at the last sync, and the window's end then (ms, local clock). */
  shared: number;
  windowEnds: number;
  /** Hits here not yet added to the shared row, and those being added now. */
  pending: number;
  inflight: number;
  lastSync: number;
}
const locals = new Map<string, Local>();

function syncLocal(bucket: Bucket, key: string, s: Local, l: Limit): void {
  if (s.inflight || s.pending === 0) return;
  s.inflight = s.pending;
  s.pending = 0;
  s.lastSync = Date.now();
  add(bucket, key, s.inflight, l)
    .then((r) => {
      s.shared = r.count;
      s.windowEnds = Date.now() + r.retryAfter * 1000;
    })
    .catch(() => {
      s.pending += s.inflight; // the database is away: count them again on the next sync
    })
    .finally(() => (s.inflight = 0));
}

/** Count one hit of `key` in `bucket`; says whether it is within the limit. */
export async function hit(bucket: Bucket, key: string): Promise<Verdict> {
  const limits = rateLimits();
  if (!limits) return { ok: true };
  const l = limits[bucket];
  if (l.strict) {
    const r = await add(bucket, key, 1, l);
    return r.count <= l.limit ? { ok: true } : { ok: false, retryAfterSeconds: r.retryAfter };
  }
  const id = `${bucket}\u0001${key}`;
  let s = locals.get(id);
  const now = Date.now();
  if (!s) {
    if (locals.size > 50_000) locals.clear();
    s = { shared: 0, windowEnds: 0, pending: 0, inflight: 0, lastSync: 0 };
    locals.set(id, s);
  }
  if (s.windowEnds && now >= s.windowEnds && !s.inflight) {
    s.shared = 0; // a new window (the database resets its row on the next sync)
    s.windowEnds = 0;
  }
  if (s.shared + s.inflight + s.pending >= l.limit) {
    if (now - s.lastSync > SYNC_MS) syncLocal(bucket, key, s, l);
    const wait = s.windowEnds ? Math.ceil((s.windowEnds - now) / 1000) : 1;
    return { ok: false, retryAfterSeconds: Math.max(1, wait) };
  }
  s.pending++;
  if (now - s.lastSync > SYNC_MS || s.shared + s.inflight + s.pending >= l.limit * 0.9)
    syncLocal(bucket, key, s, l);
  return { ok: true };
}

/** Throws a 429 DomainError (with Retry-After) when any of the hits is over its limit. */
export async function enforce(hits: Array<[Bucket, string]>, what: string): Promise<void> {
  let worst: number | null = null;
  for (const [bucket, key] of hits) {
    const v = await hit(bucket, key);
    if (!v.ok) worst = Math.max(worst ?? 0, v.retryAfterSeconds);
  }
  if (worst !== null)
    throw new DomainError(
      "rate_limited",
      `Too many ${what}; try again in ${worst < 120 ? `${worst} s` : `${Math.ceil(worst / 60)} min`}.`,
      { retryAfterSeconds: worst },
    );
}

/** The client's address, as the web process recorded it (server/processes/web.ts). */
export const CLIENT_IP_HEADER = "x-pairwise-client-ip";
export function clientIp(headers: { get(name: string): string | null } | undefined): string {
  return headers?.get(CLIENT_IP_HEADER) || "unknown";
}

/** The address to record for a raw Node request: the socket's, or X-Forwarded-For's behind a trusted proxy. */
export function requestAddress(socketAddress: string | undefined, forwardedFor: string | undefined): string {
  let trust = false;
  try {
    trust = env().PAIRWISE_TRUST_PROXY;
  } catch {
    trust = false;
  }
  if (trust && forwardedFor) {
    const hops = forwardedFor
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    if (hops.length) return hops[hops.length - 1]!;
  }
  return socketAddress ?? "unknown";
}

/** Forget the local counts (tests). */
export function resetLocalRateCounts(): void {
  locals.clear();
  parsed = undefined;
}
