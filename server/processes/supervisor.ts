// `npm start`: build what is stale, start the embedded database (unless DATABASE_URL is set),
// apply migrations, seed the demo on first start, then run web, worker, trainer and serve as
// separate processes. Ctrl-C stops them in order: the app processes first (finishing what they
// acknowledged), the database last (closing PGlite cleanly).
import net from "node:net";
import path from "node:path";
import { spawn, type ChildProcess } from "node:child_process";
import { ConfigError, childEnv, env } from "../env";
import { ensureWebBuild, ROOT } from "../build";
import { checkDatabase, DatabaseUnreachableError } from "../db/connect";
import { lockDataDir, DataDirLockedError, PortInUseError } from "../db/embedded";
import { migrate, SchemaTooNewError } from "../db/migrate";
import { createPrisma } from "../db/client";
import { seedDemo, DEMO_ACCOUNTS } from "../seed/demo";

type Name = "database" | "web" | "worker" | "trainer" | "serve";

interface Managed {
  name: Name;
  child: ChildProcess | null;
  restarts: number[];
  stopping: boolean;
}

const log = (m: string) => console.log(`[pairwise] ${m}`);

function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

function spawnProcess(name: Name, extraEnv: Record<string, string>): ChildProcess {
  const file = path.join(ROOT, "server/processes", `${name}.ts`);
  // Own process group: the terminal's Ctrl-C reaches only the supervisor, which stops children in order.
  const child = spawn(process.execPath, ["--import", "tsx", file], {
    cwd: ROOT,
    env: childEnv(extraEnv),
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    detached: true,
  });
  return child;
}

function waitForMessage<T>(child: ChildProcess, type: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${type}`)), timeoutMs);
    child.on("message", (m: { type?: string }) => {
      if (m?.type === type) {
        clearTimeout(timer);
        resolve(m as T);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with code ${code}`));
    });
  });
}

function stopChild(m: Managed, timeoutMs: number): Promise<void> {
  m.stopping = true;
  const child = m.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      log(`${m.name} did not stop in ${timeoutMs / 1000} s; killing it`);
      child.kill("SIGKILL");
    }, timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/**
 * Accounts on first start. Demo accounts have public passwords: they are seeded (on an empty
 * database) in development, or when asked for explicitly (--demo, PAIRWISE_DEMO=true); never
 * by default in production. Says whether the database still has no user at all.
 */
export async function firstStartAccounts(
  url: string,
  opts: { demo: boolean; log?: (m: string) => void },
): Promise<{ seeded: boolean; noUsers: boolean }> {
  const prisma = createPrisma(url, { max: 2 });
  try {
    const seeded = opts.demo ? await seedDemo(prisma, opts.log) : false;
    return { seeded, noUsers: (await prisma.user.count()) === 0 };
  } finally {
    await prisma.$disconnect();
  }
}

type Env = ReturnType<typeof env>;

/** The app processes to run: web always, the others unless PAIRWISE_PROCESSES leaves them out. */
function appProcesses(e: Env): Name[] {
  const all: Name[] = ["web", "worker", "trainer", "serve"];
  return e.PAIRWISE_PROCESSES
    ? all.filter((n) => n === "web" || (e.PAIRWISE_PROCESSES as string[]).includes(n))
    : all;
}

/**
 * Fail fast, before any slow step, on what the user can fix at once: a data folder in use, a
 * port taken, an unreachable database. Returns the message to print, or null when all is well.
 */
async function preflight(e: Env, names: Name[]): Promise<string | null> {
  const embedded = !e.DATABASE_URL;
  try {
    if (embedded) lockDataDir(e.dataDir)(); // probe: is another Pairwise using this folder?
    const ports: Array<[string, number, string]> = [["web app", e.PORT, "PORT"]];
    if (names.includes("serve"))
      ports.push(["OpenAI-compatible server", e.PAIRWISE_SERVE_PORT, "PAIRWISE_SERVE_PORT"]);
    if (embedded) ports.push(["embedded database", e.PAIRWISE_DB_PORT, "PAIRWISE_DB_PORT"]);
    for (const [what, port, variable] of ports) {
      if (!(await portFree(port, what === "embedded database" ? "127.0.0.1" : e.PAIRWISE_HOST)))
        throw new PortInUseError(what, port, variable);
    }
    if (!embedded) await checkDatabase(e.DATABASE_URL!);
    return null;
  } catch (err) {
    if (
      err instanceof DataDirLockedError ||
      err instanceof PortInUseError ||
      err instanceof DatabaseUnreachableError
    )
      return err.message;
    throw err;
  }
}

export async function startSystem(opts: { build?: boolean; demo?: boolean } = {}): Promise<number> {
  let e: Env;
  try {
    e = env();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 1;
    }
    throw err;
  }
  const t0 = Date.now();
  const demo = opts.demo === true || e.PAIRWISE_DEMO;
  let noUsers = false;
  const embedded = !e.DATABASE_URL;
  const names = appProcesses(e);
  const withServe = names.includes("serve");

  const problem = await preflight(e, names);
  if (problem) {
    console.error(problem);
    return 1;
  }

  if (opts.build !== false) {
    try {
      await ensureWebBuild({ log });
    } catch (err) {
      console.error((err as Error).message);
      return 1;
    }
  }

  const base = `http://${e.PAIRWISE_HOST === "0.0.0.0" ? "localhost" : e.PAIRWISE_HOST}:${e.PORT}`;
  const managed = new Map<Name, Managed>();
  let shuttingDown = false;
  let url = e.DATABASE_URL ?? "";

  const launch = (name: Name) => {
    const m: Managed = managed.get(name) ?? { name, child: null, restarts: [], stopping: false };
    managed.set(name, m);
    m.stopping = false;
    m.child = spawnProcess(name, { DATABASE_URL: url, NEXTAUTH_URL: e.NEXTAUTH_URL ?? base });
    m.child.on("exit", (code, signal) => {
      if (shuttingDown || m.stopping) return;
      if (code === 0) return; // finished on purpose
      const now = Date.now();
      m.restarts = m.restarts.filter((t) => now - t < 60_000);
      if (m.restarts.length >= 5) {
        log(`${name} keeps failing (5 restarts in a minute); stopping everything. See its messages above.`);
        void shutdown(1);
        return;
      }
      m.restarts.push(now);
      log(`${name} exited (${signal ?? `code ${code}`}); restarting it`);
      setTimeout(() => !shuttingDown && launch(name), 1000 * m.restarts.length);
    });
    return m;
  };

  let resolveExit: (code: number) => void = () => {};
  const exited = new Promise<number>((r) => (resolveExit = r));
  const shutdown = async (code: number) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log("stopping…");
    const apps = [...managed.values()].filter((m) => m.name !== "database");
    await Promise.all(apps.map((m) => stopChild(m, 30_000)));
    const dbm = managed.get("database");
    if (dbm) await stopChild(dbm, 30_000);
    log("stopped. Your data is in " + (embedded ? e.dataDir : "the external database") + ".");
    resolveExit(code);
  };
  process.on("SIGINT", () => void shutdown(0));
  process.on("SIGTERM", () => void shutdown(0));

  try {
    if (embedded) {
      const m = launch("database");
      url = (await waitForMessage<{ url: string }>(m.child!, "url", 120_000)).url;
    }
    const migrated = await migrate(url, { log });
    if (migrated.applied.length)
      log(`database schema up to date (${migrated.applied.length} migration(s) applied)`);
    noUsers = (await firstStartAccounts(url, { demo, log })).noUsers;
    const started = names.map((n) => launch(n));
    await waitForMessage(started[0]!.child!, "ready", 180_000);
  } catch (err) {
    if (err instanceof SchemaTooNewError) console.error(err.message);
    else console.error(`Pairwise could not start: ${(err as Error).message}`);
    await shutdown(1);
    return exited;
  }

  const lines = [
    "",
    `Pairwise is running at ${base}  (started in ${((Date.now() - t0) / 1000).toFixed(1)} s)`,
    `  database: ${embedded ? `embedded PGlite in ${e.dataDir}` : "external PostgreSQL (DATABASE_URL)"}`,
    ...(withServe ? [`  OpenAI-compatible API: http://${e.PAIRWISE_HOST}:${e.PAIRWISE_SERVE_PORT}/v1`] : []),
  ];
  if (noUsers) {
    lines.push(
      "  No accounts yet. Create the first admin (the password is read from standard input):",
      '    echo "$PASSWORD" | npx pairwise users create --email you@example.com --role admin --password-stdin',
      ...(e.PAIRWISE_MODE === "production"
        ? []
        : ["  (or start with --demo for the demo projects and accounts)"]),
    );
  } else if (demo) {
    lines.push("  Sign in with a demo account (change these passwords before sharing the app):");
    for (const a of DEMO_ACCOUNTS.slice(0, 3))
      lines.push(`    ${a.role.padEnd(10)} ${a.email} / ${a.password}`);
  }
  lines.push("  Press Ctrl-C to stop.", "");
  console.log(lines.join("\n"));
  return exited;
}
