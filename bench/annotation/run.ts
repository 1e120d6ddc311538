// Annotation submit path under load, over real HTTP against the running app (`pairwise start`,
// web process only): C simulated annotators (200 by default), each with its own API token, loop
//   POST /api/v1/projects/{p}/annotation/next  →  POST /api/v1/annotation/submit
// (the REST endpoints scripts and external front ends use; the web UI's tRPC procedures call the
// same functions). A share of submits is sent twice at once (a double click). Two phases:
//  - paced: the annotators together offer --rate submits/s (each starts a next → submit cycle
//    every C/rate seconds, on a fixed schedule); latency is measured from the scheduled start, so
//    time spent queueing behind a slow server counts (no coordinated omission);
//    A --warmup of a few seconds at the same rate comes first (JIT, connection pools, caches).
//  - closed loop: no pause between cycles, for --closed-seconds: the capacity. (With C annotators
//    and no pause, latency is C / throughput by Little's law, so only the paced phase says
//    anything about latency.)
// Reference in the same run: the same server answering the cheapest authenticated tRPC call
// through Next.js (system.me). Afterwards the database is checked: no judgment lost or
// duplicated, no comparison over its overlap, lease counters consistent.
//
//   npm run bench -- annotation [--db postgres,embedded] [--seconds 20] [--rate 500] [--concurrency 200]
//        [--closed-seconds 10] [--comparisons 20000] [--overlap 3] [--dup 0.05] [--pg postgresql://postgres@127.0.0.1:5432/postgres]
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import crypto from "node:crypto";
import { parseArgs } from "node:util";
import pg from "pg";
import { startTestApp, type TestApp } from "../../tests/helpers/app";
import { hashToken } from "../../server/auth/tokens";
import { percentile } from "../../server/stats";

const { values: args } = parseArgs({
  options: {
    db: { type: "string", default: "postgres,embedded" },
    seconds: { type: "string", default: "20" },
    rate: { type: "string", default: "500" },
    warmup: { type: "string", default: "3" }, // seconds of paced load before the measured phase (JIT, pools, caches)
    "closed-seconds": { type: "string", default: "10" },
    concurrency: { type: "string", default: "200" },
    comparisons: { type: "string", default: "20000" },
    overlap: { type: "string", default: "3" },
    dup: { type: "string", default: "0.05" },
    "ref-seconds": { type: "string", default: "5" },
    pg: { type: "string", default: "postgresql://postgres@127.0.0.1:5432/postgres" },
    out: { type: "string", default: "bench/results" },
    /** extra NODE_OPTIONS for the app's processes */
    "node-options": { type: "string" },
    /** write the web process's CPU profile into this folder (PAIRWISE_CPU_PROFILE) */
    profile: { type: "string" },
  },
});
const SECONDS = Number(args.seconds);
const RATE = Number(args.rate);
const WARMUP = Number(args.warmup);
const CLOSED_SECONDS = Number(args["closed-seconds"]);
const CONCURRENCY = Number(args.concurrency);
const COMPARISONS = Number(args.comparisons);
const OVERLAP = Number(args.overlap);
const DUP = Number(args.dup);
const REF_SECONDS = Number(args["ref-seconds"]);

interface Annotator {
  userId: string;
  token: string;
}

const id = () => crypto.randomBytes(12).toString("hex");
const sha = (s: string) => crypto.createHash("sha256").update(s).digest("hex");

/** Bulk seed with plain SQL (multi-row INSERTs): one project, prompts, 2 completions each, comparisons, annotators with tokens. */
async function seed(url: string): Promise<{ projectId: string; annotators: Annotator[] }> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const projectId = id();
    await c.query(
      `INSERT INTO "Project" (id, slug, name, "labelSchema", overlap, "goldRatio", settings, "updatedAt") VALUES ($1, $2, 'Bench', $3, $4, 0, '{}', now())`,
      [
        projectId,
        `bench-${projectId.slice(0, 8)}`,
        JSON.stringify({
          kind: "pairwise",
          strength: true,
          allowTie: true,
          allowBothBad: true,
          axes: [],
          rationale: "optional",
          judgeReasoningSeparately: false,
        }),
        OVERLAP,
      ],
    );
    const CHUNK = 500;
    for (let start = 0; start < COMPARISONS; start += CHUNK) {
      const n = Math.min(CHUNK, COMPARISONS - start);
      const prompts: unknown[] = [];
      const completions: unknown[] = [];
      const comparisons: unknown[] = [];
      for (let k = 0; k < n; k++) {
        const i = start + k;
        const pid = id();
        const text = `Bench prompt ${i}: explain why the sky is blue in two sentences.`;
        prompts.push(pid, projectId, sha(text), text);
        const ca = id();
        const cb = id();
        const ta = `Rayleigh scattering (${i}): shorter wavelengths scatter more, so blue light reaches us from all directions.`;
        const tb = `Because of the ocean (${i}).`;
        completions.push(
          ca,
          projectId,
          pid,
          sha(ta),
          ta,
          "model-a",
          cb,
          projectId,
          pid,
          sha(tb),
          tb,
          "model-b",
        );
        comparisons.push(
          id(),
          projectId,
          pid,
          `{${ca},${cb}}`,
          sha(`${i}`),
          new Date(Date.UTC(2026, 0, 1) + i * 1000),
        );
      }
      const rows = (cols: number, count: number) =>
        Array.from(
          { length: count },
          (_, r) => `(${Array.from({ length: cols }, (_, j) => `$${r * cols + j + 1}`).join(",")})`,
        ).join(",");
      await c.query(
        `INSERT INTO "Prompt" (id, "projectId", "contentHash", text) VALUES ${rows(4, n)}`,
        prompts,
      );
      await c.query(
        `INSERT INTO "Completion" (id, "projectId", "promptId", "contentHash", text, "modelName") VALUES ${rows(6, 2 * n)}`,
        completions,
      );
      await c.query(
        `INSERT INTO "Comparison" (id, "projectId", "promptId", "completionIds", "contentHash", "createdAt") VALUES ${rows(6, n)}`,
        comparisons,
      );
    }
    const annotators: Annotator[] = [];
    for (let i = 0; i < CONCURRENCY; i++) {
      const userId = id();
      await c.query(`INSERT INTO "User" (id, email, name, role) VALUES ($1, $2, $3, 'annotator')`, [
        userId,
        `bench-${userId}@example.com`,
        `Bench ${i}`,
      ]);
      const token = `pw_bench${i}_${crypto.randomBytes(24).toString("base64url")}`;
      await c.query(
        `INSERT INTO "ApiToken" (id, "userId", name, prefix, "tokenHash", scopes) VALUES ($1, $2, 'bench', $3, $4, '{write}')`,
        [id(), userId, `bench${i}`, hashToken(token)],
      );
      annotators.push({ userId, token });
    }
    await c.query(`ANALYZE`);
    return { projectId, annotators };
  } finally {
    await c.end();
  }
}

// ---- CPU accounting (Linux /proc): CPU-ms spent per submit by each side, which stays meaningful
// when other work shares the machine (wall-clock throughput does not).
const CLK_TCK = 100;
function procStat(pid: number): { ppid: number; cpuMs: number; comm: string } | null {
  try {
    const raw = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const close = raw.lastIndexOf(")");
    const comm = raw.slice(raw.indexOf("(") + 1, close);
    const f = raw.slice(close + 2).split(" ");
    return { ppid: Number(f[1]), cpuMs: ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK, comm };
  } catch {
    return null;
  }
}
/** CPU-ms of each process in the tree under `root` (the supervisor: web, embedded database…). */
function treeCpu(root: number): Map<number, { cpuMs: number; comm: string }> {
  const all = fs
    .readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
  const stats = new Map(all.map((pid) => [pid, procStat(pid)] as const));
  const out = new Map<number, { cpuMs: number; comm: string }>();
  const want = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, st] of stats)
      if (st && !want.has(pid) && want.has(st.ppid)) {
        want.add(pid);
        grew = true;
      }
  }
  for (const pid of want) {
    const st = stats.get(pid);
    if (st) out.set(pid, { cpuMs: st.cpuMs, comm: st.comm });
  }
  return out;
}
async function pgBackendPids(url: string): Promise<number[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
    );
    return rows.map((r) => Number(r.pid));
  } finally {
    await c.end();
  }
}
function cpuOf(pids: number[]): number {
  return pids.reduce((s, pid) => s + (procStat(pid)?.cpuMs ?? 0), 0);
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

// node:http with keep-alive: one socket per annotator, and the client's own CPU stays small.
const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });

function request(
  base: string,
  token: string,
  method: "GET" | "POST",
  pathname: string,
  body?: unknown,
): Promise<string> {
  const u = new URL(base);
  const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        method,
        path: pathname,
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          ...(data ? { "content-type": "application/json", "content-length": data.length } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          if ((res.statusCode ?? 0) >= 400) reject(new HttpError(res.statusCode ?? 0, text.slice(0, 300)));
          else resolve(text);
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

async function rest<T>(base: string, token: string, pathname: string, body: unknown): Promise<T> {
  return JSON.parse(await request(base, token, "POST", pathname, body)) as T;
}

async function trpcQuery<T>(base: string, token: string, proc: string): Promise<T> {
  return (
    JSON.parse(await request(base, token, "GET", `/api/trpc/${proc}`)) as { result: { data: { json: T } } }
  ).result.data.json;
}

interface LoadResult {
  seconds: number;
  submits: number;
  duplicatesSent: number;
  duplicatesAcknowledgedSame: number;
  errors: Record<string, number>;
  submitMs: number[];
  nextMs: number[];
  cycleMs: number[];
  exhausted: number;
}

/**
 * C annotators loop next → submit until the deadline. rate > 0: each starts its cycles on a
 * fixed schedule (every C/rate s, staggered), and a cycle's latency runs from its scheduled start.
 */
async function load(
  base: string,
  projectId: string,
  annotators: Annotator[],
  seconds: number,
  rate: number,
  acknowledged: Map<string, string>,
): Promise<LoadResult> {
  const r: LoadResult = {
    seconds: 0,
    submits: 0,
    duplicatesSent: 0,
    duplicatesAcknowledgedSame: 0,
    errors: {},
    submitMs: [],
    nextMs: [],
    cycleMs: [],
    exhausted: 0,
  };
  const err = (e: unknown) => {
    const k =
      e instanceof HttpError
        ? `HTTP ${e.status}: ${e.message.slice(0, 120)}`
        : String((e as Error).message ?? e).slice(0, 120);
    r.errors[k] = (r.errors[k] ?? 0) + 1;
  };
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  const period = rate > 0 ? (annotators.length / rate) * 1000 : 0;
  let n = 0;
  await Promise.all(
    annotators.map(async (a, idx) => {
      let scheduled = t0 + (period * idx) / annotators.length;
      while (true) {
        if (period > 0) {
          const wait = scheduled - performance.now();
          if (wait > 0) await new Promise((res) => setTimeout(res, wait));
        }
        const start = period > 0 ? scheduled : performance.now();
        if (start >= deadline) return;
        scheduled += period;
        let lease: { kind: string; assignment?: { assignmentId: string } };
        const s0 = performance.now();
        try {
          lease = await rest(base, a.token, `/api/v1/projects/${projectId}/annotation/next`, {});
        } catch (e) {
          err(e);
          continue;
        }
        r.nextMs.push(performance.now() - s0);
        if (lease.kind !== "assignment" || !lease.assignment) {
          r.exhausted++;
          return;
        }
        const input = {
          assignmentId: lease.assignment.assignmentId,
          idempotencyKey: `bench-${lease.assignment.assignmentId}`,
          answer: {
            kind: "pairwise",
            choice: (n++ % 5 === 0 ? "tie" : n % 2 ? "A" : "B") as string,
            strength: 1,
          },
          timeSpentMs: 1500,
        };
        const s1 = performance.now();
        try {
          if (Math.random() < DUP) {
            r.duplicatesSent++;
            const [x, y] = await Promise.all([
              rest<{ judgmentId: string }>(base, a.token, "/api/v1/annotation/submit", input),
              rest<{ judgmentId: string }>(base, a.token, "/api/v1/annotation/submit", input),
            ]);
            if (x.judgmentId === y.judgmentId) r.duplicatesAcknowledgedSame++;
            acknowledged.set(input.idempotencyKey, x.judgmentId);
          } else {
            const x = await rest<{ judgmentId: string }>(base, a.token, "/api/v1/annotation/submit", input);
            acknowledged.set(input.idempotencyKey, x.judgmentId);
          }
          const end = performance.now();
          r.submitMs.push(end - s1);
          r.cycleMs.push(end - start);
          r.submits++;
        } catch (e) {
          err(e);
        }
      }
    }),
  );
  r.seconds = (performance.now() - t0) / 1000;
  return r;
}

async function reference(
  base: string,
  annotators: Annotator[],
): Promise<{ rps: number; p50: number; p99: number }> {
  const ms: number[] = [];
  const t0 = performance.now();
  const deadline = t0 + REF_SECONDS * 1000;
  await Promise.all(
    annotators.map(async (a) => {
      while (performance.now() < deadline) {
        const s = performance.now();
        await trpcQuery(base, a.token, "system.me");
        ms.push(performance.now() - s);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  return { rps: ms.length / secs, p50: percentile(ms, 50), p99: percentile(ms, 99) };
}

interface Verification {
  judgments: number;
  acknowledged: number;
  missing: number;
  duplicatePerUser: number;
  overOverlap: number;
  counterMismatch: number;
  leaseMismatch: number;
  ok: boolean;
}

async function verify(
  url: string,
  projectId: string,
  acknowledged: Map<string, string>,
): Promise<Verification> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const q = async (sql: string) => Number((await c.query(sql, [projectId])).rows[0].n);
    const judgments = await q(`SELECT count(*) n FROM "Judgment" WHERE "projectId" = $1`);
    const ids = [...acknowledged.values()];
    const found = Number(
      (
        await c.query(`SELECT count(*) n FROM "Judgment" WHERE id = ANY($1) AND "projectId" = $2`, [
          ids,
          projectId,
        ])
      ).rows[0].n,
    );
    const duplicatePerUser = await q(
      `SELECT count(*) n FROM (SELECT 1 FROM "Judgment" WHERE "projectId" = $1 GROUP BY "comparisonId", "userId" HAVING count(*) > 1) x`,
    );
    const overOverlap = await q(
      `SELECT count(*) n FROM "Comparison" c JOIN "Project" p ON p.id = c."projectId" WHERE c."projectId" = $1 AND NOT c."isGold" AND (SELECT count(*) FROM "Judgment" j WHERE j."comparisonId" = c.id) > p.overlap`,
    );
    const counterMismatch = await q(
      `SELECT count(*) n FROM "Comparison" c WHERE c."projectId" = $1 AND c."judgmentCount" <> (SELECT count(*) FROM "Judgment" j WHERE j."comparisonId" = c.id AND j."supersededAt" IS NULL)`,
    );
    const leaseMismatch = await q(
      `SELECT count(*) n FROM "Comparison" c WHERE c."projectId" = $1 AND c."leaseCount" <> (SELECT count(*) FROM "Assignment" a WHERE a."comparisonId" = c.id AND a.status = 'active')`,
    );
    const v = {
      judgments,
      acknowledged: acknowledged.size,
      missing: acknowledged.size - found,
      duplicatePerUser,
      overOverlap,
      counterMismatch,
      leaseMismatch,
      ok: false,
    };
    // every acknowledged submit is in the database, and nothing else is (no phantom rows)
    v.ok =
      v.missing === 0 &&
      judgments === acknowledged.size &&
      duplicatePerUser === 0 &&
      overOverlap === 0 &&
      counterMismatch === 0 &&
      leaseMismatch === 0;
    return v;
  } finally {
    await c.end();
  }
}

interface Phase {
  offeredRate: number | null;
  seconds: number;
  submits: number;
  submitsPerSecond: number;
  submitP50: number;
  submitP99: number;
  nextP50: number;
  nextP99: number;
  cycleP50: number;
  cycleP99: number;
  duplicatesSent: number;
  duplicatesSame: number;
  errors: Record<string, number>;
  exhausted: number;
}

interface Row {
  db: string;
  concurrency: number;
  paced: Phase | null;
  closed: Phase | null;
  reference: { rps: number; p50: number; p99: number };
  verification: Verification;
  cpu: {
    appTreeMsPerSubmit: number;
    byProcessMsPerSubmit: Record<string, number>;
    postgresMsPerSubmit: number;
    loadGeneratorMsPerSubmit: number;
    machineLoadAverage: number;
  };
}

function phase(r: LoadResult, offeredRate: number | null, window: number): Phase {
  return {
    offeredRate,
    seconds: r.seconds,
    submits: r.submits,
    // paced: cycles are scheduled within the window (the last ones finish just after it); a run
    // that fell behind its schedule is divided by its whole duration instead
    submitsPerSecond: r.submits / (offeredRate && r.seconds <= window + 1 ? window : r.seconds),
    submitP50: percentile(r.submitMs, 50),
    submitP99: percentile(r.submitMs, 99),
    nextP50: percentile(r.nextMs, 50),
    nextP99: percentile(r.nextMs, 99),
    cycleP50: percentile(r.cycleMs, 50),
    cycleP99: percentile(r.cycleMs, 99),
    duplicatesSent: r.duplicatesSent,
    duplicatesSame: r.duplicatesAcknowledgedSame,
    errors: r.errors,
    exhausted: r.exhausted,
  };
}

async function runOne(mode: "postgres" | "embedded"): Promise<Row> {
  let dbUrl: string | undefined;
  let drop: (() => Promise<void>) | undefined;
  if (mode === "postgres") {
    const name = `pw_bench_${crypto.randomBytes(5).toString("hex")}`;
    const admin = new pg.Client({ connectionString: args.pg });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const u = new URL(args.pg!);
    u.pathname = `/${name}`;
    dbUrl = u.toString();
    drop = async () => {
      const a = new pg.Client({ connectionString: args.pg });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    };
  }
  console.log(`[${mode}] starting the app (web only)…`);
  const app: TestApp = await startTestApp({
    databaseUrl: dbUrl,
    env: {
      PAIRWISE_PROCESSES: "web",
      PAIRWISE_DEMO: "0",
      LOG_LEVEL: "warn",
      ...(args["node-options"] ? { NODE_OPTIONS: args["node-options"] } : {}),
      ...(args.profile ? { PAIRWISE_CPU_PROFILE: path.resolve(args.profile) } : {}),
    },
  });
  try {
    const url = dbUrl ?? JSON.parse(fs.readFileSync(path.join(app.dataDir, "database.json"), "utf8")).url;
    console.log(
      `[${mode}] seeding ${COMPARISONS} comparisons (overlap ${OVERLAP}) and ${CONCURRENCY} annotators…`,
    );
    const { projectId, annotators } = await seed(url);
    // warm up: compile routes, fill connection pools and token caches
    await Promise.all(annotators.slice(0, 4).map((a) => trpcQuery(app.baseUrl, a.token, "system.me")));
    const ref = await reference(app.baseUrl, annotators);
    console.log(
      `[${mode}] reference system.me (tRPC through Next.js): ${ref.rps.toFixed(0)} req/s, p50 ${ref.p50.toFixed(1)} ms, p99 ${ref.p99.toFixed(1)} ms`,
    );
    const acknowledged = new Map<string, string>();
    let paced: Phase | null = null;
    if (RATE > 0 && SECONDS > 0) {
      if (WARMUP > 0) {
        console.log(
          `[${mode}] warm-up: ${RATE} submits/s offered for ${WARMUP} s (not measured; its judgments are verified with the rest)…`,
        );
        await load(app.baseUrl, projectId, annotators, WARMUP, RATE, acknowledged);
      }
      console.log(`[${mode}] paced: ${CONCURRENCY} annotators offering ${RATE} submits/s for ${SECONDS} s…`);
      paced = phase(
        await load(app.baseUrl, projectId, annotators, SECONDS, RATE, acknowledged),
        RATE,
        SECONDS,
      );
      console.log(
        `[${mode}] paced: ${paced.submitsPerSecond.toFixed(0)} submits/s; next p50 ${paced.nextP50.toFixed(1)} / p99 ${paced.nextP99.toFixed(1)} ms; submit p50 ${paced.submitP50.toFixed(1)} / p99 ${paced.submitP99.toFixed(1)} ms; cycle from schedule p99 ${paced.cycleP99.toFixed(1)} ms`,
      );
      if (Object.keys(paced.errors).length) console.log(`[${mode}] errors:`, paced.errors);
    }
    let closed: Phase | null = null;
    const tree0 = treeCpu(app.child.pid!);
    const backends = mode === "postgres" ? await pgBackendPids(url) : [];
    const pg0 = cpuOf(backends);
    const self0 = process.cpuUsage();
    if (CLOSED_SECONDS > 0) {
      console.log(`[${mode}] closed loop: ${CONCURRENCY} annotators, no pause, ${CLOSED_SECONDS} s…`);
      closed = phase(
        await load(app.baseUrl, projectId, annotators, CLOSED_SECONDS, 0, acknowledged),
        null,
        CLOSED_SECONDS,
      );
      console.log(
        `[${mode}] closed loop: ${closed.submitsPerSecond.toFixed(0)} submits/s (cycle p50 ${closed.cycleP50.toFixed(0)} ms = ${CONCURRENCY} / throughput)`,
      );
      if (Object.keys(closed.errors).length) console.log(`[${mode}] errors:`, closed.errors);
    }
    const measured = closed ?? paced;
    const selfCpu = process.cpuUsage(self0);
    const tree1 = treeCpu(app.child.pid!);
    // backends opened during the run started at 0 CPU
    const backends1 = mode === "postgres" ? await pgBackendPids(url) : [];
    const pgCpu = cpuOf(backends1) - pg0;
    const perProcess: Record<string, number> = {};
    for (const [pid, v] of tree1) {
      const d = v.cpuMs - (tree0.get(pid)?.cpuMs ?? 0);
      if (d > 0) perProcess[v.comm] = (perProcess[v.comm] ?? 0) + d;
    }
    const subs = Math.max(1, closed?.submits ?? 0);
    const cpu = {
      appTreeMsPerSubmit: Object.values(perProcess).reduce((a, b) => a + b, 0) / subs,
      byProcessMsPerSubmit: Object.fromEntries(Object.entries(perProcess).map(([k, v]) => [k, v / subs])),
      postgresMsPerSubmit: pgCpu / subs,
      loadGeneratorMsPerSubmit: (selfCpu.user + selfCpu.system) / 1000 / subs,
      machineLoadAverage: os.loadavg()[0] ?? 0,
    };
    const row: Row = {
      db: mode === "postgres" ? "PostgreSQL 127.0.0.1:5432" : "embedded PGlite",
      concurrency: CONCURRENCY,
      paced,
      closed,
      reference: ref,
      verification: await verify(url, projectId, acknowledged),
      cpu,
    };
    console.log(
      `[${mode}] verification ${row.verification.ok ? "OK" : "FAILED"}`,
      row.verification,
      measured ? "" : "(no load phase ran)",
    );
    return row;
  } finally {
    await app.stop();
    await drop?.();
  }
}

const modes = args.db!.split(",").map((s) => s.trim()) as Array<"postgres" | "embedded">;
const rows: Row[] = [];
for (const m of modes) rows.push(await runOne(m));

const f = (v: number | undefined | null, d = 1) =>
  v !== undefined && v !== null && Number.isFinite(v) ? v.toFixed(d) : "–";
const md = [
  `## Annotation loop over HTTP (REST: next → submit, API tokens)`,
  ``,
  `${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"}), Node ${process.version}; ${CONCURRENCY} concurrent annotators, overlap ${OVERLAP}, ${(DUP * 100).toFixed(0)}% of submits sent twice at once. Load generator on the same machine. Paced: the annotators offer ${RATE} submits/s for ${SECONDS} s; latency from each cycle's scheduled start. Closed loop: no pause, ${CLOSED_SECONDS} s (capacity).`,
  ``,
  `| database | phase | submits/s | next p50 / p99 ms | submit p50 / p99 ms | next+submit p50 / p99 ms (from schedule) | double submits → same judgment | errors |`,
  `| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |`,
  ...rows.flatMap((r) =>
    (
      [
        [`paced, ${RATE}/s offered`, r.paced],
        ["closed loop (capacity)", r.closed],
      ] as const
    )
      .filter(([, p]) => p)
      .map(
        ([name, p]) =>
          `| ${r.db} | ${name} | ${f(p!.submitsPerSecond, 0)} | ${f(p!.nextP50)} / ${f(p!.nextP99)} | ${f(p!.submitP50)} / ${f(p!.submitP99)} | ${f(p!.cycleP50)} / ${f(p!.cycleP99)} | ${p!.duplicatesSame}/${p!.duplicatesSent} | ${Object.values(p!.errors).reduce((a, b) => a + b, 0)} |`,
      ),
  ),
  ``,
  `| database | reference: system.me through Next.js + tRPC, req/s (p50 ms) | capacity submits/s ÷ reference req/s | verified afterwards |`,
  `| --- | ---: | ---: | --- |`,
  ...rows.map(
    (r) =>
      `| ${r.db} | ${f(r.reference.rps, 0)} (${f(r.reference.p50)}) | ${f((r.closed?.submitsPerSecond ?? NaN) / r.reference.rps, 2)} | ${r.verification.ok ? "OK" : "FAILED"}: ${r.verification.judgments} judgments, ${r.verification.missing} lost, ${r.verification.duplicatePerUser} duplicated, ${r.verification.overOverlap} over overlap, ${r.verification.counterMismatch + r.verification.leaseMismatch} counter mismatches |`,
  ),
  ``,
  `CPU per submit (one next + one submit, over HTTP) in the closed-loop phase, from /proc:`,
  ``,
  `| database | app processes ms/submit | of which | PostgreSQL backends ms/submit | load generator ms/submit | load average during run |`,
  `| --- | ---: | --- | ---: | ---: | ---: |`,
  ...rows.map(
    (r) =>
      `| ${r.db} | ${f(r.cpu.appTreeMsPerSubmit, 2)} | ${Object.entries(r.cpu.byProcessMsPerSubmit)
        .map(([k, v]) => `${k} ${f(v, 2)}`)
        .join(
          ", ",
        )} | ${r.db.startsWith("PostgreSQL") ? f(r.cpu.postgresMsPerSubmit, 2) : "(in app)"} | ${f(r.cpu.loadGeneratorMsPerSubmit, 2)} | ${f(r.cpu.machineLoadAverage, 1)} |`,
  ),
  ``,
].join("\n");
fs.mkdirSync(args.out!, { recursive: true });
fs.writeFileSync(
  path.join(args.out!, "annotation.json"),
  JSON.stringify({ date: new Date().toISOString(), cpus: os.cpus().length, args, rows }, null, 2),
);
fs.writeFileSync(path.join(args.out!, "annotation.md"), md);
console.log("\n" + md);
process.exit(rows.every((r) => r.verification.ok) ? 0 : 1);
