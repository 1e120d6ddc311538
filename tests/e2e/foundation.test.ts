// The whole system as a user starts it (`pairwise start`), driven with a real HTTP client and a
// real Chromium: demo data, login, roles on the server, API tokens, health, restarts and faults.
import fs from "node:fs";
import net from "node:net";
import { spawn } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import pg from "pg";
import { artifactPath, launchBrowser } from "../helpers/browser";
import { freePort, ROOT, signInCookie, startTestApp, type TestApp } from "../helpers/app";

let app: TestApp;
const external = Boolean(process.env.TEST_DATABASE_URL);

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const e: Record<string, string> = { ...(process.env as Record<string, string>), ...env };
    delete e.NODE_ENV;
    if (!env.DATABASE_URL) delete e.DATABASE_URL;
    const child = spawn(process.execPath, [path.join(ROOT, "bin/pairwise.mjs"), ...args], {
      cwd: ROOT,
      env: e as NodeJS.ProcessEnv,
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.stderr.on("data", (d: Buffer) => (out += d));
    const t = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.on("exit", (code) => {
      clearTimeout(t);
      resolve({ code, out });
    });
  });
}

beforeAll(async () => {
  app = await startTestApp({ processes: ["worker", "trainer"] });
}, 300_000);
afterAll(async () => {
  await app?.stop();
});

describe("npm start", () => {
  test("prints the URL and how to log in, and seeds the demo", async () => {
    expect(app.output()).toContain(`Pairwise is running at ${app.baseUrl}`);
    expect(app.output()).toMatch(/annotator\s+annotator@pairwise\.local \/ pairwise-annotator/);
    expect(app.output()).toMatch(/seeded the demo/);
  });

  test("the demo annotator logs in with Chromium and sees the annotator's home page", async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(app.baseUrl + "/");
      await page.waitForURL(/\/login/);
      await page.getByTestId("login-email").fill("annotator@pairwise.local");
      await page.getByTestId("login-password").fill("pairwise-annotator");
      await page.getByTestId("login-submit").click();
      await page.getByTestId("home-annotator").waitFor({ timeout: 30_000 });
      expect(await page.getByTestId("home-project").count()).toBe(2);
      expect(await page.getByTestId("nav-user").textContent()).toContain("annotator");
      // no admin link for an annotator
      expect(await page.getByTestId("nav-admin").count()).toBe(0);
      await page.screenshot({ path: artifactPath("foundation-annotator-home.png"), fullPage: true });

      // a wrong password says so plainly
      const p2 = await (await browser.newContext()).newPage();
      await p2.goto(app.baseUrl + "/login");
      await p2.getByTestId("login-email").fill("annotator@pairwise.local");
      await p2.getByTestId("login-password").fill("wrong-password");
      await p2.getByTestId("login-submit").click();
      expect(await p2.getByTestId("login-error").textContent()).toMatch(/Wrong email or password/);
    } finally {
      await browser.close();
    }
  });

  test("roles are enforced on the server; secrets are not exposed", async () => {
    const annot = await signInCookie(app.baseUrl, "annotator@pairwise.local", "pairwise-annotator");
    const me = await fetch(`${app.baseUrl}/api/trpc/system.me`, { headers: { cookie: annot } });
    const meBody = await me.text();
    expect(meBody).toContain("annotator@pairwise.local");
    expect(meBody).not.toMatch(/passwordHash|\$2[aby]\$/);
    const health = await fetch(`${app.baseUrl}/api/trpc/system.health`, { headers: { cookie: annot } });
    expect(health.status).toBe(403);
    const anon = await fetch(`${app.baseUrl}/api/trpc/system.me`);
    expect(anon.status).toBe(401);
    const adminPage = await fetch(`${app.baseUrl}/admin/health`, {
      headers: { cookie: annot },
      redirect: "manual",
    });
    expect([302, 303, 307, 308]).toContain(adminPage.status);
  });

  test("worker and trainer report alive; the trainer logs its TensorFlow.js backend", async () => {
    const admin = await signInCookie(app.baseUrl, "admin@pairwise.local", "pairwise-admin");
    let services: Array<{ kind: string; alive: boolean; info: Record<string, unknown> }> = [];
    for (let i = 0; i < 100; i++) {
      const res = await fetch(`${app.baseUrl}/api/trpc/system.health`, { headers: { cookie: admin } });
      services = ((await res.json()) as { result: { data: { json: typeof services } } }).result.data.json;
      if (["web", "worker", "trainer"].every((k) => services.some((s) => s.kind === k && s.alive))) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(
      services
        .filter((s) => s.alive)
        .map((s) => s.kind)
        .sort(),
    ).toEqual(expect.arrayContaining(["trainer", "web", "worker"]));
    expect(services.find((s) => s.kind === "trainer")!.info.backend).toBe("cpu"); // forced by the test harness
    expect(app.output()).toMatch(/\[trainer\] TensorFlow\.js backend: cpu/);
    const html = await (await fetch(`${app.baseUrl}/admin/health`, { headers: { cookie: admin } })).text();
    expect(html).toContain('data-testid="health-trainer"');
  });

  test("API tokens authenticate scripts with Authorization: Bearer", async () => {
    const url =
      app.databaseUrl ?? JSON.parse(fs.readFileSync(path.join(app.dataDir, "database.json"), "utf8")).url;
    const { createPrisma, setDbForTests } = await import("@/server/db/client");
    const prisma = createPrisma(url, { max: 1 });
    setDbForTests(prisma);
    try {
      const { createApiToken } = await import("@/server/auth/tokens");
      const admin = await prisma.user.findUniqueOrThrow({ where: { email: "admin@pairwise.local" } });
      const { token } = await createApiToken({ userId: admin.id, name: "e2e", scopes: ["read"] });
      const ok = await fetch(`${app.baseUrl}/api/trpc/system.me`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(ok.status).toBe(200);
      const bad = await fetch(`${app.baseUrl}/api/trpc/system.me`, {
        headers: { authorization: `Bearer ${token}x` },
      });
      expect(bad.status).toBe(401);
      // read scope cannot reach admin procedures even though the user is an admin
      const scoped = await fetch(`${app.baseUrl}/api/trpc/system.health`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(scoped.status).toBe(403);
      expect(await scoped.text()).toMatch(/lacks the \\"admin\\" scope/);
    } finally {
      await prisma.$disconnect();
      setDbForTests(undefined);
    }
  });

  test("kill -9 of a process: the supervisor restarts it", async () => {
    const m = app.output().match(/\[worker\] connected/);
    expect(m).toBeTruthy();
    const url =
      app.databaseUrl ?? JSON.parse(fs.readFileSync(path.join(app.dataDir, "database.json"), "utf8")).url;
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const { rows } = await c.query(`SELECT pid FROM "ServiceHeartbeat" WHERE kind = 'worker'`);
    await c.end();
    const pid = rows[0]!.pid as number;
    process.kill(pid, "SIGKILL");
    const before = app.output().split("[worker] connected").length;
    const deadline = Date.now() + 60_000;
    while (app.output().split("[worker] connected").length === before && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    expect(app.output()).toMatch(/worker exited \(SIGKILL\); restarting it/);
    expect(app.output().split("[worker] connected").length).toBe(before + 1);
  });

  test.skipIf(external)("a second start on the same data folder is refused plainly", async () => {
    const r = await runCli(["start"], {
      PAIRWISE_DATA_DIR: app.dataDir,
      PORT: String(await freePort()),
      PAIRWISE_DB_PORT: String(await freePort()),
    });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/The data folder .* is in use by another Pairwise process/);
    expect(r.out).not.toMatch(/\n\s+at /); // no stack trace
  });

  test("a port already in use gives a clear message", async () => {
    const port = await freePort();
    const blocker = net.createServer().listen(port, "127.0.0.1");
    try {
      const r = await runCli(["start"], {
        PAIRWISE_DATA_DIR: fs.mkdtempSync(path.join(app.dataDir, "..", "pw-port-")),
        PORT: String(port),
      });
      expect(r.code).toBe(1);
      expect(r.out).toMatch(new RegExp(`Port ${port} \\(web app\\) is already in use.*PORT=<port>`, "s"));
      expect(r.out).not.toMatch(/\n\s+at /);
    } finally {
      blocker.close();
    }
  });

  test("an unreachable DATABASE_URL gives a clear message", async () => {
    const port = await freePort();
    const r = await runCli(["start"], {
      DATABASE_URL: `postgresql://nobody@127.0.0.1:${port}/nothing`,
      PORT: String(await freePort()),
    });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(
      /Cannot connect to the database at postgresql:\/\/nobody@127\.0\.0\.1:\d+\/nothing: connection refused/,
    );
    expect(r.out).not.toMatch(/\n\s+at /);
  });

  test("production mode without its secrets names them", async () => {
    const r = await runCli(["start"], { PAIRWISE_MODE: "production", PORT: String(await freePort()) });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/Missing required secrets in production mode/);
    expect(r.out).toMatch(/NEXTAUTH_SECRET/);
  });

  test("Ctrl-C stops everything cleanly; a second start reuses the data", async () => {
    const code = await app.stop("SIGINT", { keepDatabase: true });
    expect(code).toBe(0);
    const out = app.output();
    if (!external) expect(out).toMatch(/\[database\] closed cleanly/);
    expect(out).toMatch(/stopped\. Your data is in/);
    const t0 = Date.now();
    app = await startTestApp({
      dataDir: app.dataDir,
      databaseUrl: app.databaseUrl ?? undefined,
      ownDatabase: true,
      processes: [],
    });
    const warm = Date.now() - t0;
    expect(app.output()).not.toMatch(/seeded the demo/); // data reused, not re-seeded
    expect(app.output()).not.toMatch(/building the web app/);
    const cookie = await signInCookie(app.baseUrl, "annotator@pairwise.local", "pairwise-annotator");
    expect(cookie).toMatch(/session-token/);
    console.log(`warm restart: ${warm} ms`);
  }, 300_000);
});
