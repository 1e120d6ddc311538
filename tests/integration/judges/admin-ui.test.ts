// The whole path in a real browser against the real system (`pairwise start` with its worker and
// its `serve` process): an admin creates an LLM judge on /admin/judges pointing at Pairwise's own
// OpenAI-compatible server, with an API key; starts a run; the worker's job calls the served
// model; the page shows progress live until the run ends; the failures' reasons are listed; the
// key never reaches the browser.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Browser, Page } from "playwright-core";
import type { PrismaClient } from "@prisma/client";
import { launchBrowser } from "../../helpers/browser";
import { startTestApp, type TestApp } from "../../helpers/app";
import { makeProject } from "./fixtures";

const KEY = "sk-e2e-never-shown-4242";
let app: TestApp;
let prisma: PrismaClient;
let browser: Browser;
let page: Page;
let projectSlug: string;

beforeAll(async () => {
  app = await startTestApp({ processes: ["worker", "serve"], env: { PAIRWISE_TF_BACKEND: "wasm" } });
  const url =
    app.databaseUrl ?? JSON.parse(fs.readFileSync(path.join(app.dataDir, "database.json"), "utf8")).url;
  const { createPrisma } = await import("@/server/db/client");
  prisma = createPrisma(url, { max: 1 });
  const fx = await makeProject(prisma, { n: 3 });
  projectSlug = (await prisma.project.findUniqueOrThrow({ where: { id: fx.projectId } })).slug;
  browser = await launchBrowser();
  page = await (await browser.newContext({ viewport: { width: 1400, height: 1000 } })).newPage();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await prisma?.$disconnect();
  await app?.stop();
});

describe("/admin/judges", () => {
  test("create a judge on pairwise serve, run it, watch it finish", async () => {
    await page.goto(app.baseUrl + "/login");
    await page.getByTestId("login-email").fill("admin@pairwise.local");
    await page.keyboard.press("Tab");
    await page.keyboard.type("pairwise-admin");
    await page.keyboard.press("Enter");
    await page.waitForURL((u) => !u.pathname.startsWith("/login"));

    await page.goto(`${app.baseUrl}/admin/judges?project=${projectSlug}`);
    await page.getByTestId("judge-name").fill("served-tiny");
    await page.getByTestId("judge-base-url").fill(`${app.serveUrl}/v1`);
    await page.getByTestId("judge-model").fill("pairwise-tiny");
    await page.getByTestId("judge-api-key").fill(KEY);
    await page.getByTestId("judge-max-tokens").fill("4");
    await page.getByTestId("judge-create").click();
    await page.getByTestId("judge-served-tiny").waitFor();
    expect(await page.getByTestId("judge-served-tiny-key").textContent()).toContain("set");
    expect(await page.content()).not.toContain(KEY);

    await page.getByTestId("run-limit").fill("3");
    await page.getByTestId("judge-served-tiny-run").click();
    // Live progress: the table refreshes itself until the run ends. The tiny served model gives no
    // verdict (and the rubric may not fit its context: a 400), so no comparison is judged — never a
    // guessed judgment — and the run says it failed, rather than "succeeded" with 0 judged.
    const status = page.locator('[data-testid$="-status"]').first();
    await expect
      .poll(async () => (await status.textContent()) ?? "", { timeout: 180_000, interval: 500 })
      .toMatch(/^failed/);
    // Progress counts judged comparisons: none here, out of the 3 the run took.
    const progress = await page.locator('[data-testid$="-progress"]').first().textContent();
    expect(progress).toContain("0 / 3");
    const run = await prisma.judgeRun.findFirstOrThrow({ where: { judgeConfig: { name: "served-tiny" } } });
    expect(run.status).toBe("failed");
    expect(run.done).toBe(0);
    // The run says why it failed (with the served tiny model: no comparison could be judged).
    expect(run.error ?? "").not.toBe("");
    const judgments = await prisma.judgment.findMany({ where: { judgeRunId: run.id } });
    for (const j of judgments)
      expect((j.metadata as { swap: string }).swap).toMatch(/consistent|inconsistent/);

    await page.getByText("Details").first().click();
    if (run.unparseable) await page.getByTestId(`run-problems-${run.id}`).waitFor();
    expect(await page.content()).not.toContain(KEY);
  });
});
