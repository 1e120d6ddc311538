// Starts the real system (`pairwise start`, the supervisor and its processes) for e2e tests, on a
// fresh data folder and free ports — or on a fresh database on TEST_DATABASE_URL's server.
import fs from "node:fs";
import os from "node:os";
import net from "node:net";
import path from "node:path";
import crypto from "node:crypto";
import { spawn, type ChildProcess } from "node:child_process";
import pg from "pg";

export const ROOT = path.resolve(import.meta.dirname, "../..");

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

export interface TestApp {
  baseUrl: string;
  dataDir: string;
  databaseUrl: string | null;
  serveUrl: string;
  output: () => string;
  child: ChildProcess;
  /** Stop with a signal; the fresh external database is dropped unless keepDatabase (a restart reuses it). */
  stop(signal?: NodeJS.Signals, opts?: { keepDatabase?: boolean }): Promise<number | null>;
}

export interface StartOptions {
  dataDir?: string;
  /** Processes besides web: default worker only (tests that need more ask). */
  processes?: Array<"worker" | "trainer" | "serve">;
  env?: Record<string, string>;
  /** Reuse an external database; default: a fresh one when TEST_DATABASE_URL is set. */
  databaseUrl?: string;
  /** With databaseUrl: drop it on stop (a restarted app taking over the first one's database). */
  ownDatabase?: boolean;
  waitFor?: RegExp;
  timeoutMs?: number;
}

function dropper(external: string, name: string): () => Promise<void> {
  return async () => {
    const a = new pg.Client({ connectionString: external });
    await a.connect();
    await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await a.end();
  };
}

async function freshExternalDatabase(): Promise<{ url: string; drop: () => Promise<void> } | null> {
  const external = process.env.TEST_DATABASE_URL;
  if (!external) return null;
  const name = `pw_e2e_${crypto.randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: external });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(external);
  u.pathname = `/${name}`;
  return { url: u.toString(), drop: dropper(external, name) };
}

/** Spawn `node bin/pairwise.mjs start` and wait for its banner. */
export async function startTestApp(opts: StartOptions = {}): Promise<TestApp> {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "pairwise-e2e-"));
  const [port, dbPort, servePort] = [await freePort(), await freePort(), await freePort()];
  const admin = process.env.TEST_DATABASE_URL;
  const ext = opts.databaseUrl
    ? opts.ownDatabase && admin
      ? { url: opts.databaseUrl, drop: dropper(admin, new URL(opts.databaseUrl).pathname.slice(1)) }
      : null
    : await freshExternalDatabase();
  const databaseUrl = opts.databaseUrl ?? ext?.url ?? null;
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    PAIRWISE_DATA_DIR: dataDir,
    PORT: String(port),
    PAIRWISE_DB_PORT: String(dbPort),
    PAIRWISE_SERVE_PORT: String(servePort),
    PAIRWISE_HOST: "127.0.0.1",
    PAIRWISE_PROCESSES: (opts.processes ?? ["worker"]).join(","),
    PAIRWISE_TF_BACKEND: "cpu",
    ...opts.env,
  };
  delete env.DATABASE_URL;
  delete env.NODE_ENV; // vitest sets "test"; the app decides its own
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  const child = spawn(process.execPath, [path.join(ROOT, "bin/pairwise.mjs"), "start"], {
    cwd: ROOT,
    env: env as NodeJS.ProcessEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const waitFor = opts.waitFor ?? /Pairwise is running at/;
  const deadline = Date.now() + (opts.timeoutMs ?? 240_000);
  while (!waitFor.test(out)) {
    if (child.exitCode !== null) throw new Error(`pairwise start exited with ${child.exitCode}:\n${out}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`pairwise start did not get ready in time:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    serveUrl: `http://127.0.0.1:${servePort}`,
    dataDir,
    databaseUrl,
    child,
    output: () => out,
    async stop(signal: NodeJS.Signals = "SIGINT", stopOpts: { keepDatabase?: boolean } = {}) {
      if (child.exitCode === null) {
        const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
        child.kill(signal);
        const t = setTimeout(() => child.kill("SIGKILL"), 60_000);
        await exited;
        clearTimeout(t);
      }
      if (!stopOpts.keepDatabase) await ext?.drop().catch(() => {});
      return child.exitCode;
    },
  };
}

/** Sign in through next-auth's credentials flow with a real HTTP client; returns the cookie header. */
export async function signInCookie(baseUrl: string, email: string, password: string): Promise<string> {
  const jar = new Map<string, string>();
  const keep = (res: Response) => {
    for (const c of res.headers.getSetCookie()) {
      const [kv] = c.split(";");
      const i = kv!.indexOf("=");
      jar.set(kv!.slice(0, i), kv!.slice(i + 1));
    }
  };
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
  const csrfRes = await fetch(`${baseUrl}/api/auth/csrf`);
  keep(csrfRes);
  const { csrfToken } = (await csrfRes.json()) as { csrfToken: string };
  const res = await fetch(`${baseUrl}/api/auth/callback/credentials`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: cookie() },
    body: new URLSearchParams({ csrfToken, email, password, json: "true" }),
    redirect: "manual",
  });
  keep(res);
  if (![...jar.keys()].some((k) => k.includes("session-token")))
    throw new Error(`sign-in failed for ${email} (HTTP ${res.status})`);
  return cookie();
}
