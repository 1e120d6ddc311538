// The soak test: the system as a scaled-out deployment runs it -- two web processes, two workers
// and the trainer against one database -- under load from many simulated annotators (real HTTP,
// the REST endpoints scripts use), while faults are injected at random:
//  - SIGKILL of a web process, a worker, the trainer, or the database process (embedded mode:
//    the process holding PGlite and its socket server);
//  - every database connection cut at once (a TCP proxy sits between the app and the database);
//  - on PostgreSQL, pg_terminate_backend of every connection to the soak's database (the server
//    itself is shared with other work on these machines, so it is not SIGKILLed).
// A small supervisor here restarts whatever died, the way `npm start`'s does (same process
// files, same environment). Annotators loop next -> submit, and retry a submit that got no
// answer (or a 5xx) with the same idempotencyKey until it is acknowledged.
// At the end, with the faults stopped and every process back, the database is checked:
//  - every acknowledged submit is stored exactly once (0 lost, 0 duplicated);
//  - no comparison is over its overlap, and the judgment and lease counters match the rows;
//  - no lease is stuck: none active past its expiry (plus a grace) once the load has stopped;
//  - no pg-boss job is left active past its expiry (a killed worker's jobs are retried).
// Used by `npm run bench -- soak` (bench/soak/run.ts) and the short CI test (tests/e2e/soak.test.ts).
import fs from "node:fs";
import os from "node:os";
import net from "node:net";
import path from "node:path";
import crypto from "node:crypto";
import { spawn, type ChildProcess } from "node:child_process";
import pg from "pg";
import { hashToken } from "../../server/auth/tokens";
import { migrate } from "../../server/db/migrate";
import { percentile } from "../../server/stats";
import { startTcpProxy, type TcpProxy } from "../../tests/helpers/tcp-proxy";

export type DbMode = "postgres" | "embedded";
export type FaultKind = "web" | "worker" | "trainer" | "database" | "cut" | "terminate";

export interface SoakOptions {
  mode: DbMode;
  /** How long faults are injected (the load runs as long). */
  seconds: number;
  annotators: number;
  comparisons: number;
  overlap: number;
  /** Pause between one annotator's cycles, ms (uniform in [min, max]). */
  thinkMs: [number, number];
  /** Time between faults, ms (uniform in [min, max]). */
  faultEveryMs: [number, number];
  /** PostgreSQL server for postgres mode (a fresh database is created there and dropped after). */
  pgAdminUrl: string;
  /** Where the processes' output goes. */
  logFile: string;
  log?: (m: string) => void;
}

export interface SoakResult {
  mode: DbMode;
  seconds: number;
  annotators: number;
  processes: string;
  faults: Record<FaultKind, number>;
  restarts: Record<string, number>;
  requests: number;
  acknowledged: number;
  /** Submits given up on (no acknowledgement in 60 s of retries) or refused (410/409). */
  unacknowledged: number;
  lost: number;
  duplicated: number;
  overOverlap: number;
  judgmentCountMismatch: number;
  leaseCountMismatch: number;
  stuckLeases: number;
  stuckJobs: number;
  errorsDuringFaults: number;
  requestsDuringFaults: number;
  clientErrorRateDuringFaults: number;
  clientErrorRate: number;
  latencyMs: { p50: number; p99: number; max: number };
  ok: boolean;
}

const ROOT = path.resolve(import.meta.dirname, "../..");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rand = ([a, b]: [number, number]) => a + Math.random() * (b - a);
const id = () => crypto.randomBytes(12).toString("hex");
const sha = (s: string) => crypto.createHash("sha256").update(s).digest("hex");

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/** One project (pairwise, overlap N), its comparisons, and annotators (members) with write tokens. */
async function seed(
  url: string,
  o: SoakOptions,
): Promise<{ slug: string; projectId: string; tokens: string[] }> {
  const c = new pg.Client({ connectionString: url });
  c.on("error", () => {});
  await c.connect();
  try {
    const projectId = id();
    const slug = `soak-${projectId.slice(0, 8)}`;
    await c.query(
      `INSERT INTO "Project" (id, slug, name, "labelSchema", overlap, "goldRatio", settings, "updatedAt") VALUES ($1, $2, 'Soak', $3, $4, 0, '{}', now())`,
      [
        projectId,
        slug,
        JSON.stringify({
          kind: "pairwise",
          strength: true,
          allowTie: true,
          allowBothBad: true,
          axes: [],
          rationale: "optional",
          judgeReasoningSeparately: false,
        }),
        o.overlap,
      ],
    );
    const rows = (cols: number, count: number) =>
      Array.from(
        { length: count },
        (_, r) => `(${Array.from({ length: cols }, (_, j) => `$${r * cols + j + 1}`).join(",")})`,
      ).join(",");
    const CHUNK = 500;
    for (let start = 0; start < o.comparisons; start += CHUNK) {
      const n = Math.min(CHUNK, o.comparisons - start);
      const prompts: unknown[] = [];
      const completions: unknown[] = [];
      const comparisons: unknown[] = [];
      for (let k = 0; k < n; k++) {
        const i = start + k;
        const pid = id();
        const text = `Soak prompt ${i}: explain why the sky is blue in two sentences.`;
        prompts.push(pid, projectId, sha(text), text);
        const [ca, cb] = [id(), id()];
        const [ta, tb] = [`Rayleigh scattering (${i}).`, `Because of the ocean (${i}).`];
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
          sha(`${slug}-${i}`),
          new Date(Date.UTC(2026, 0, 1) + i * 1000),
        );
      }
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
    const tokens: string[] = [];
    for (let i = 0; i < o.annotators; i++) {
      const userId = id();
      await c.query(`INSERT INTO "User" (id, email, name, role) VALUES ($1, $2, $3, 'annotator')`, [
        userId,
        `soak-${userId}@example.com`,
        `Soak ${i}`,
      ]);
      await c.query(
        `INSERT INTO "ProjectMember" ("projectId", "userId", role) VALUES ($1, $2, 'annotator')`,
        [projectId, userId],
      );
      const token = `pw_soak${i}_${crypto.randomBytes(24).toString("base64url")}`;
      await c.query(
        `INSERT INTO "ApiToken" (id, "userId", name, prefix, "tokenHash", scopes) VALUES ($1, $2, 'soak', $3, $4, '{write}')`,
        [id(), userId, `soak${i}`, hashToken(token)],
      );
      tokens.push(token);
    }
    return { slug, projectId, tokens };
  } finally {
    await c.end();
  }
}

// ---- the supervisor: one managed process per slot, restarted when it dies ----

interface Slot {
  name: string; // web-1, worker-2, trainer, database
  file: "web" | "worker" | "trainer" | "database";
  env: Record<string, string>;
  child: ChildProcess | null;
  ready: boolean;
  restarts: number;
  onUrl?: (url: string) => void;
}

class Supervisor {
  slots: Slot[] = [];
  stopping = false;
  private out: fs.WriteStream;
  constructor(
    logFile: string,
    private base: Record<string, string>,
  ) {
    this.out = fs.createWriteStream(logFile, { flags: "a" });
  }

  add(name: string, file: Slot["file"], env: Record<string, string>): Slot {
    const s: Slot = { name, file, env, child: null, ready: false, restarts: 0 };
    this.slots.push(s);
    return s;
  }

  launch(s: Slot): void {
    s.ready = false;
    // The same command line as `npm start`'s supervisor (server/processes/supervisor.ts).
    const child = spawn(
      process.execPath,
      ["--import", "tsx", path.join(ROOT, "server/processes", `${s.file}.ts`)],
      {
        cwd: ROOT,
        env: { ...this.base, ...s.env } as NodeJS.ProcessEnv,
        stdio: ["ignore", "pipe", "pipe", "ipc"],
        detached: true,
      },
    );
    s.child = child;
    const tag = (d: Buffer) =>
      this.out.write(
        d
          .toString()
          .split("\n")
          .filter(Boolean)
          .map((l) => `${new Date().toISOString()} ${s.name}: ${l}\n`)
          .join(""),
      );
    child.stdout!.on("data", tag);
    child.stderr!.on("data", tag);
    child.on("message", (m: { type?: string; url?: string }) => {
      if (m?.type === "ready") s.ready = true;
      if (m?.type === "url" && m.url) s.onUrl?.(m.url);
    });
    child.on("exit", (code, signal) => {
      s.ready = false;
      if (this.stopping || s.child !== child) return;
      this.out.write(`${new Date().toISOString()} ${s.name}: exited (${signal ?? code}); restarting\n`);
      s.restarts++;
      setTimeout(() => !this.stopping && this.launch(s), 1000);
    });
  }

  async waitReady(slots: Slot[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!slots.every((s) => s.ready)) {
      if (Date.now() > deadline)
        throw new Error(
          `not ready in time: ${slots
            .filter((s) => !s.ready)
            .map((s) => s.name)
            .join(", ")}`,
        );
      await sleep(100);
    }
  }

  kill(s: Slot): boolean {
    const pid = s.child?.pid;
    if (!pid || s.child!.exitCode !== null || s.child!.signalCode !== null) return false;
    try {
      process.kill(-pid, "SIGKILL"); // its process group: whatever it started dies with it
    } catch {
      s.child!.kill("SIGKILL");
    }
    return true;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const order = [
      this.slots.filter((s) => s.file !== "database"),
      this.slots.filter((s) => s.file === "database"),
    ];
    for (const group of order)
      await Promise.all(
        group.map(
          (s) =>
            new Promise<void>((resolve) => {
              const c = s.child;
              if (!c || c.exitCode !== null || c.signalCode !== null) return resolve();
              const t = setTimeout(() => c.kill("SIGKILL"), 30_000);
              c.once("exit", () => {
                clearTimeout(t);
                resolve();
              });
              c.kill("SIGTERM");
            }),
        ),
      );
    this.out.end();
  }
}

// ---- the annotators ----

interface Stats {
  requests: number;
  errors: number;
  requestsDuringFaults: number;
  errorsDuringFaults: number;
  latencies: number[];
  acknowledged: Set<string>;
  unacknowledged: number;
}

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const log = o.log ?? ((m: string) => console.log(`[soak] ${m}`));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "pairwise-soak-"));
  const [web1, web2, dbPort] = [await freePort(), await freePort(), await freePort()];
  const base: Record<string, string> = { ...(process.env as Record<string, string>) };
  delete base.DATABASE_URL;
  delete base.NODE_ENV; // vitest sets "test"; the app decides its own
  Object.assign(base, {
    PAIRWISE_DATA_DIR: dataDir,
    PAIRWISE_DB_PORT: String(dbPort),
    PAIRWISE_HOST: "127.0.0.1",
    PAIRWISE_TF_BACKEND: "cpu",
  });
  const sup = new Supervisor(o.logFile, base);
  let directUrl: string;
  let dropDb: () => Promise<void> = async () => {};
  let dbSlot: Slot | null = null;
  if (o.mode === "embedded") {
    dbSlot = sup.add("database", "database", {});
    const gotUrl = new Promise<string>((r) => (dbSlot!.onUrl = r));
    sup.launch(dbSlot);
    directUrl = await gotUrl;
  } else {
    const name = `pw_soak_${crypto.randomBytes(6).toString("hex")}`;
    const admin = new pg.Client({ connectionString: o.pgAdminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const u = new URL(o.pgAdminUrl);
    u.pathname = `/${name}`;
    directUrl = u.toString();
    dropDb = async () => {
      const a = new pg.Client({ connectionString: o.pgAdminUrl });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    };
  }
  let proxy: TcpProxy | null = null;
  const stats: Stats = {
    requests: 0,
    errors: 0,
    requestsDuringFaults: 0,
    errorsDuringFaults: 0,
    latencies: [],
    acknowledged: new Set(),
    unacknowledged: 0,
  };
  const faults: Record<FaultKind, number> = {
    web: 0,
    worker: 0,
    trainer: 0,
    database: 0,
    cut: 0,
    terminate: 0,
  };
  try {
    await migrate(directUrl);
    const { slug, projectId, tokens } = await seed(directUrl, o);
    log(
      `${o.mode}: seeded ${o.comparisons} comparisons (overlap ${o.overlap}) and ${o.annotators} annotators`,
    );
    proxy = await startTcpProxy(directUrl);
    const appEnv = (port: number) => ({
      DATABASE_URL: proxy!.url,
      PORT: String(port),
      NEXTAUTH_URL: `http://127.0.0.1:${port}`,
    });
    const webs = [sup.add("web-1", "web", appEnv(web1)), sup.add("web-2", "web", appEnv(web2))];
    const workers = [
      sup.add("worker-1", "worker", appEnv(web1)),
      sup.add("worker-2", "worker", appEnv(web1)),
    ];
    const trainer = sup.add("trainer", "trainer", appEnv(web1));
    for (const s of [...webs, ...workers, trainer]) sup.launch(s);
    await sup.waitReady([...webs, ...workers, trainer], 300_000);
    log("2 web processes, 2 workers and the trainer are up");

    // A request is "during a fault" when it starts within 10 s of one, or while a process is down.
    let faultUntil = 0;
    const inFault = () => Date.now() < faultUntil || sup.slots.some((s) => !s.ready);
    const ports = [web1, web2];
    let stopLoad = false;

    async function call(
      token: string,
      which: number,
      p: string,
      body: unknown,
    ): Promise<{ status: number; json: unknown } | null> {
      const during = inFault();
      const t0 = performance.now();
      stats.requests++;
      if (during) stats.requestsDuringFaults++;
      try {
        const res = await fetch(`http://127.0.0.1:${ports[which % 2]}/api/v1${p}`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(15_000),
        });
        const json = (await res.json().catch(() => null)) as unknown;
        if (res.status >= 500 || res.status === 429) throw new Error(`HTTP ${res.status}`);
        stats.latencies.push(performance.now() - t0);
        return { status: res.status, json };
      } catch {
        stats.errors++;
        if (during || inFault()) stats.errorsDuringFaults++;
        return null;
      }
    }

    async function annotator(i: number): Promise<void> {
      const token = tokens[i]!;
      let which = i;
      let seq = 0;
      await sleep(Math.random() * o.thinkMs[1]);
      while (!stopLoad) {
        const next = await call(token, which, `/projects/${slug}/annotation/next`, {});
        if (!next) {
          which++; // the other web process
          await sleep(200 + Math.random() * 300);
          continue;
        }
        const n = next.json as { kind?: string; assignment?: { assignmentId: string } } | null;
        if (next.status !== 200 || n?.kind !== "assignment" || !n.assignment) {
          await sleep(1000);
          continue;
        }
        const key = `soak-${i}-${seq++}`;
        const body = {
          assignmentId: n.assignment.assignmentId,
          idempotencyKey: key,
          answer: { kind: "pairwise", choice: Math.random() < 0.5 ? "A" : "B", strength: 1 },
        };
        // The same submit (same key) until it is answered: acknowledged, or refused.
        const deadline = Date.now() + 60_000;
        for (;;) {
          const r = await call(token, which, "/annotation/submit", body);
          if (r && r.status === 200) {
            stats.acknowledged.add(key);
            break;
          }
          if (r || Date.now() > deadline) {
            stats.unacknowledged++; // refused (the lease expired while the servers were down) or given up
            break;
          }
          which++;
          await sleep(200 + Math.random() * 300);
        }
        await sleep(rand(o.thinkMs));
      }
    }

    async function injectFaults(until: number): Promise<void> {
      const kinds: FaultKind[] =
        o.mode === "embedded"
          ? ["web", "worker", "trainer", "database", "cut"]
          : ["web", "worker", "trainer", "terminate", "cut"];
      let k = Math.floor(Math.random() * kinds.length);
      while (Date.now() < until) {
        await sleep(rand(o.faultEveryMs));
        if (Date.now() >= until) break;
        const kind = kinds[k++ % kinds.length]!; // round robin from a random start: every kind is hit
        let done = false;
        if (kind === "web") done = sup.kill(webs[Math.floor(Math.random() * 2)]!);
        else if (kind === "worker") done = sup.kill(workers[Math.floor(Math.random() * 2)]!);
        else if (kind === "trainer") done = sup.kill(trainer);
        else if (kind === "database") done = sup.kill(dbSlot!);
        else if (kind === "cut") done = proxy!.cutAll() >= 0;
        else if (kind === "terminate") {
          const a = new pg.Client({ connectionString: directUrl });
          a.on("error", () => {});
          await a.connect();
          await a.query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
          );
          await a.end();
          done = true;
        }
        if (done) {
          faults[kind]++;
          faultUntil = Date.now() + 10_000;
          log(`fault: ${kind} (${Object.values(faults).reduce((a, b) => a + b, 0)} so far)`);
        }
      }
    }

    const t0 = Date.now();
    const loops = Array.from({ length: o.annotators }, (_, i) => annotator(i));
    await injectFaults(t0 + o.seconds * 1000);
    // Faults over: let every process come back, then stop the load (open submits finish first).
    await sup.waitReady(sup.slots, 300_000);
    await sleep(3000);
    stopLoad = true;
    await Promise.all(loops);
    const seconds = (Date.now() - t0) / 1000;
    log(`load stopped after ${seconds.toFixed(0)} s; checking the database`);

    // ---- the invariants, from the database itself ----
    const c = new pg.Client({ connectionString: directUrl });
    c.on("error", () => {});
    await c.connect();
    const one = async (sql: string, params: unknown[] = []) =>
      Number((await c.query<{ n: string }>(sql, params)).rows[0]!.n);
    const acked = [...stats.acknowledged];
    const stored = await c.query<{ k: string; n: string }>(
      `SELECT "idempotencyKey" k, count(*) n FROM "Judgment" WHERE "idempotencyKey" = ANY($1::text[]) GROUP BY 1`,
      [acked],
    );
    const lost = acked.length - stored.rows.length;
    const duplicated =
      stored.rows.filter((r) => Number(r.n) > 1).length +
      (await one(
        `SELECT count(*) n FROM (SELECT 1 FROM "Judgment" WHERE "projectId" = $1 AND "supersededAt" IS NULL GROUP BY "comparisonId", "userId" HAVING count(*) > 1) d`,
        [projectId],
      ));
    const overOverlap = await one(
      `SELECT count(*) n FROM "Comparison" c JOIN "Project" p ON p.id = c."projectId" WHERE c."projectId" = $1 AND (SELECT count(*) FROM "Judgment" j WHERE j."comparisonId" = c.id AND j."supersededAt" IS NULL) > p.overlap`,
      [projectId],
    );
    const judgmentCountMismatch = await one(
      `SELECT count(*) n FROM "Comparison" c WHERE c."projectId" = $1 AND c."judgmentCount" <> (SELECT count(*) FROM "Judgment" j WHERE j."comparisonId" = c.id AND j."supersededAt" IS NULL)`,
      [projectId],
    );
    const leaseCountMismatch = await one(
      `SELECT count(*) n FROM "Comparison" c WHERE c."projectId" = $1 AND c."leaseCount" <> (SELECT count(*) FROM "Assignment" a WHERE a."comparisonId" = c.id AND a.status = 'active')`,
      [projectId],
    );
    // An active lease past its expiry is one the queue will reclaim on its next pass; "stuck" is
    // one still active a lease period after the load stopped.
    const stuckLeases = await one(
      `SELECT count(*) n FROM "Assignment" WHERE "projectId" = $1 AND status = 'active' AND "expiresAt" < now() - interval '10 minutes'`,
      [projectId],
    );
    const hasBoss = await one(
      `SELECT count(*) n FROM information_schema.tables WHERE table_schema = 'pgboss' AND table_name = 'job'`,
    );
    const stuckJobs = hasBoss
      ? await one(
          `SELECT count(*) n FROM pgboss.job WHERE state = 'active' AND started_on + expire_in + interval '1 minute' < now()`,
        )
      : 0;
    await c.end();
    const lat = [...stats.latencies].sort((a, b) => a - b);
    const restarts: Record<string, number> = {};
    for (const s of sup.slots) restarts[s.name] = s.restarts;
    const result: SoakResult = {
      mode: o.mode,
      seconds: Math.round(seconds),
      annotators: o.annotators,
      processes: `2 web, 2 workers, trainer, ${o.mode === "embedded" ? "embedded database (PGlite socket server)" : "PostgreSQL 15"}`,
      faults,
      restarts,
      requests: stats.requests,
      acknowledged: acked.length,
      unacknowledged: stats.unacknowledged,
      lost,
      duplicated,
      overOverlap,
      judgmentCountMismatch,
      leaseCountMismatch,
      stuckLeases,
      stuckJobs,
      errorsDuringFaults: stats.errorsDuringFaults,
      requestsDuringFaults: stats.requestsDuringFaults,
      clientErrorRateDuringFaults: stats.requestsDuringFaults
        ? stats.errorsDuringFaults / stats.requestsDuringFaults
        : 0,
      clientErrorRate: stats.requests ? stats.errors / stats.requests : 0,
      latencyMs: {
        p50: Math.round(lat.length ? percentile(lat, 50) : 0),
        p99: Math.round(lat.length ? percentile(lat, 99) : 0),
        max: Math.round(lat[lat.length - 1] ?? 0),
      },
      ok: false,
    };
    result.ok =
      lost === 0 &&
      duplicated === 0 &&
      overOverlap === 0 &&
      judgmentCountMismatch === 0 &&
      leaseCountMismatch === 0 &&
      stuckLeases === 0 &&
      stuckJobs === 0 &&
      acked.length > 0;
    return result;
  } finally {
    await sup.stop();
    await proxy?.close();
    await dropDb().catch(() => {});
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The markdown table of one or more runs. */
export function soakTable(results: SoakResult[]): string {
  const head =
    "| database | duration | kills (web / worker / trainer / database) | connection cuts | backend terminations | acknowledged submits | lost | duplicated | over overlap | stuck leases | stuck jobs | client errors during faults | p50 / p99 latency |";
  const sep = "|" + "---|".repeat(13);
  const rows = results.map(
    (r) =>
      `| ${r.mode === "embedded" ? "embedded (PGlite)" : "PostgreSQL 15"} | ${r.seconds} s | ${r.faults.web} / ${r.faults.worker} / ${r.faults.trainer} / ${r.faults.database} | ${r.faults.cut} | ${r.faults.terminate} | ${r.acknowledged} | ${r.lost} | ${r.duplicated} | ${r.overOverlap} | ${r.stuckLeases} | ${r.stuckJobs} | ${(100 * r.clientErrorRateDuringFaults).toFixed(1)} % (${r.errorsDuringFaults} / ${r.requestsDuringFaults}) | ${r.latencyMs.p50} / ${r.latencyMs.p99} ms |`,
  );
  return [head, sep, ...rows].join("\n") + "\n";
}
