// The first hour in the web UI, in a real Chromium against the real system (issue #16): the
// keyboard on the annotation page, an untouched ranking, a second tab with the same lease, a
// phone, the flag dialog, the training page's plan and refusal, readable stages, honest judge
// runs and imports, slugs, refusals and sign-in, plurals, hydration and the favicon.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import type { PrismaClient } from "@prisma/client";
import { artifactPath, launchBrowser } from "../helpers/browser";
import { startTestApp, type TestApp } from "../helpers/app";
import { makeProject, type ProjectFixture } from "../integration/annotation/fixtures";

let app: TestApp;
let prisma: PrismaClient;
let browser: Browser;
let pairwise: ProjectFixture;
let ranking: ProjectFixture;
let tabs: ProjectFixture;
const contexts: BrowserContext[] = [];

const ADMIN = ["admin@pairwise.local", "pairwise-admin"] as const;
const ANNOTATOR = ["annotator@pairwise.local", "pairwise-annotator"] as const;

beforeAll(async () => {
  app = await startTestApp();
  const url =
    app.databaseUrl ?? JSON.parse(fs.readFileSync(path.join(app.dataDir, "database.json"), "utf8")).url;
  const { createPrisma } = await import("@/server/db/client");
  prisma = createPrisma(url, { max: 1 });
  // Overlap 2 and one annotator: judgments that make no pairs (the demo's situation).
  pairwise = await makeProject(prisma, {
    comparisons: 6,
    overlap: 2,
    texts: (i, j) =>
      j === 0
        ? `<think>Working it out for ${i}.</think>\n\nAnswer **${i}**.`
        : `Plain answer ${i + 1}, see [the docs](https://example.com/${i}).`,
  });
  await prisma.project.update({
    where: { id: pairwise.projectId },
    data: { slug: "fh-pairwise", name: "First hour pairwise" },
  });
  ranking = await makeProject(prisma, {
    comparisons: 2,
    k: 3,
    labelSchema: { kind: "ranking" },
    texts: (i, j) =>
      [
        `<think>secret reasoning ${i}</think>\n\n**Bold ${i}** answer`,
        `Math $x^{${i + 2}}$ here`,
        `Third ${i}`,
      ][j]!,
  });
  await prisma.project.update({ where: { id: ranking.projectId }, data: { slug: "fh-ranking" } });
  tabs = await makeProject(prisma, { comparisons: 3 });
  await prisma.project.update({ where: { id: tabs.projectId }, data: { slug: "fh-tabs" } });
  browser = await launchBrowser();
}, 300_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await prisma?.$disconnect();
  await app?.stop();
});

async function newContext(opts: Parameters<Browser["newContext"]>[0] = {}): Promise<BrowserContext> {
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 }, ...opts });
  contexts.push(ctx);
  return ctx;
}

/** A page that records console errors and failed requests. */
async function newPage(ctx?: BrowserContext): Promise<Page & { problems: string[] }> {
  const page = (await (ctx ?? (await newContext())).newPage()) as Page & { problems: string[] };
  page.problems = [];
  page.on("console", (m) => m.type() === "error" && page.problems.push(`console: ${m.text()}`));
  page.on("pageerror", (e) => page.problems.push(`pageerror: ${e.message}`));
  page.on("response", (r) => r.status() === 404 && page.problems.push(`404: ${r.url()}`));
  return page;
}

async function signIn(page: Page, [email, password]: readonly [string, string], from = "/login") {
  if (from === "/login") await page.goto(app.baseUrl + "/login");
  await page.getByTestId("login-email").fill(email);
  await page.getByTestId("login-password").fill(password);
  await page.getByTestId("login-submit").click();
  await page.waitForURL((u) => !u.pathname.startsWith("/login"), { timeout: 30_000 });
}

const phase = (page: Page) => page.getByTestId("annotate-session").getAttribute("data-phase");

async function itemShown(page: Page): Promise<string> {
  await page.waitForFunction(() => {
    const el = document.querySelector('[data-testid="annotate-session"]');
    return el && el.getAttribute("data-phase") !== "loading";
  });
  return (await page.getByTestId("annotate-session").getAttribute("data-assignment-id")) ?? "";
}

async function advance(page: Page, keys: string[]): Promise<string> {
  const before = await itemShown(page);
  for (const k of keys) await page.keyboard.press(k);
  await page.waitForFunction(
    (prev) => {
      const el = document.querySelector('[data-testid="annotate-session"]');
      return (
        !!el && el.getAttribute("data-phase") !== "loading" && el.getAttribute("data-assignment-id") !== prev
      );
    },
    before,
    { timeout: 20_000 },
  );
  return before;
}

// The machines are slow and shared: each test has four minutes (it takes seconds on a laptop).
const SLOW = { timeout: 240_000 };

describe("the annotation page", SLOW, () => {
  let annot: Page;

  test("Enter follows a focused link and opens a focused summary; only elsewhere does it submit", async () => {
    annot = await newPage();
    await signIn(annot, ANNOTATOR);
    await annot.goto(app.baseUrl + "/annotate/fh-pairwise");
    const held = await itemShown(annot);
    // the help says how to open the reasoning
    await annot.keyboard.press("?");
    expect(await annot.getByTestId("help-dialog").textContent()).toMatch(/Space \/ Enter.*Reasoning/);
    await annot.keyboard.press("Escape");
    // Enter on the focused "Reasoning" summary opens it, and asks nothing
    const details = annot.locator('[data-testid^="reasoning-"]').first();
    await details.locator("summary").focus();
    await annot.keyboard.press("Enter");
    expect(await details.evaluate((d) => (d as HTMLDetailsElement).open)).toBe(true);
    expect(await annot.getByTestId("submit-message").count()).toBe(0);
    // A choice, then Enter on a focused button presses that button (not a submit)
    await annot.keyboard.press("a");
    await annot.getByTestId("choice-B").focus();
    await annot.keyboard.press("Enter");
    expect(await annot.getByTestId("choice-B").getAttribute("aria-pressed")).toBe("true");
    expect(await prisma.judgment.count({ where: { assignmentId: held } })).toBe(0);
    // Enter on a focused nav link leaves the page
    await annot.getByTestId("nav-home").focus();
    await annot.keyboard.press("Enter");
    await annot.waitForURL((u) => u.pathname === "/", { timeout: 15_000 });
    expect(await prisma.judgment.count({ where: { assignmentId: held } })).toBe(0);
    // Back: the draft (B) is kept, and Enter on the page submits it
    await annot.goto(app.baseUrl + "/annotate/fh-pairwise");
    expect(await itemShown(annot)).toBe(held);
    await advance(annot, ["Enter"]);
    const j = await prisma.judgment.findFirstOrThrow({ where: { assignmentId: held } });
    const a = await prisma.assignment.findUniqueOrThrow({ where: { id: held } });
    expect(j.verdict).toMatchObject({ outcome: "win", winnerId: a.displayOrder[1] });
  });

  test("the flag dialog: one Tab after choosing a reason reaches the required text box", async () => {
    await annot.keyboard.press("f");
    await annot.getByTestId("flag-dialog").waitFor();
    await annot.keyboard.press("3");
    expect(await annot.getByTestId("flag-dialog-option-broken").isChecked()).toBe(true);
    await annot.keyboard.press("Tab");
    expect(await annot.evaluate(() => document.activeElement?.getAttribute("data-testid"))).toBe(
      "flag-dialog-text",
    );
    await annot.keyboard.press("Escape");
    await annot.getByTestId("flag-dialog").waitFor({ state: "detached" });
  });

  test("an untouched ranking cannot be submitted; its rows render Markdown and math, without <think>", async () => {
    await annot.goto(app.baseUrl + "/annotate/fh-ranking");
    const held = await itemShown(annot);
    await annot.getByTestId("ranking-list").waitFor();
    const list = annot.getByTestId("ranking-list");
    expect(await list.locator(".katex").count()).toBe(1);
    expect(await list.locator("strong").count()).toBe(1);
    const text = (await list.textContent()) ?? "";
    expect(text).not.toMatch(/<think>|secret reasoning|\*\*|\$x/);
    expect(await annot.getByTestId("ranking-undecided").isVisible()).toBe(true);
    await annot.keyboard.press("Enter");
    expect(await annot.getByTestId("submit-message").textContent()).toMatch(/Rank first/);
    await new Promise((r) => setTimeout(r, 500));
    expect(await prisma.judgment.count({ where: { assignmentId: held } })).toBe(0);
    await annot.screenshot({ path: artifactPath("first-hour-ranking.png"), fullPage: true });
    // O keeps the order shown, on purpose
    await advance(annot, ["o", "Enter"]);
    const a = await prisma.assignment.findUniqueOrThrow({ where: { id: held } });
    const j = await prisma.judgment.findFirstOrThrow({ where: { assignmentId: held } });
    expect(j.verdict).toEqual({ kind: "ranking", ranking: a.displayOrder.map((id) => [id]) });
  });

  test("a second tab with the same lease says its different vote was not recorded", async () => {
    const ctx = await newContext();
    const one = await newPage(ctx);
    await signIn(one, ["annotator2@pairwise.local", "pairwise-annotator"]);
    await one.goto(app.baseUrl + "/annotate/fh-tabs");
    const held = await itemShown(one);
    const two = await newPage(ctx);
    await two.goto(app.baseUrl + "/annotate/fh-tabs");
    expect(await itemShown(two)).toBe(held);
    await advance(one, ["a", "Enter"]);
    await two.keyboard.press("b");
    await two.keyboard.press("Enter");
    await two.getByTestId("recorded-elsewhere").waitFor({ timeout: 20_000 });
    const said = (await two.getByTestId("recorded-elsewhere").textContent()) ?? "";
    expect(said).toMatch(/“A is better”/);
    expect(said).toMatch(/“B is better”.*not recorded/);
    expect(await phase(two)).toBe("recorded_elsewhere");
    const js = await prisma.judgment.findMany({ where: { assignmentId: held } });
    const a = await prisma.assignment.findUniqueOrThrow({ where: { id: held } });
    expect(js).toHaveLength(1);
    expect(js[0]!.verdict).toMatchObject({ winnerId: a.displayOrder[0] });
    await two.screenshot({ path: artifactPath("first-hour-second-tab.png") });
    // N moves on
    await two.keyboard.press("n");
    await two.waitForFunction(
      (prev) =>
        document.querySelector('[data-testid="annotate-session"]')?.getAttribute("data-assignment-id") !==
        prev,
      held,
    );
  });

  test("on a 390×844 phone: an answer in the first view, the name on one line, no key hints", async () => {
    const ctx = await newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    });
    const phone = await newPage(ctx);
    await signIn(phone, ANNOTATOR);
    await phone.goto(app.baseUrl + "/annotate/fh-pairwise");
    await itemShown(phone);
    await phone.screenshot({ path: artifactPath("first-hour-phone.png") });
    const seen = await phone.evaluate(() => {
      const a = document.querySelector('[data-testid="completion-A"]')!.getBoundingClientRect();
      const y = a.top + 24;
      const hit = document.elementFromPoint(a.left + a.width / 2, y);
      return {
        top: a.top,
        visible: y < window.innerHeight && !!hit?.closest('[data-testid="completion-A"]'),
      };
    });
    expect(seen.visible).toBe(true);
    const name = await phone.getByTestId("nav-user").boundingBox();
    expect(name!.height).toBeLessThan(30); // one line of 20 px
    expect((await phone.getByTestId("submit").innerText()).trim()).toBe("Submit");
    expect(await phone.getByTestId("choice-A").innerText()).not.toMatch(/\bA\s*$/);
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  });
});

describe("admin and training", SLOW, () => {
  let admin: Page & { problems: string[] };

  test("the training page says what a round would do and why pairs are missing, and refuses an empty one", async () => {
    admin = await newPage();
    await signIn(admin, ADMIN);
    await admin.goto(app.baseUrl + "/admin/training?project=fh-pairwise");
    await admin.getByTestId("round-plan").waitFor({ timeout: 30_000 });
    const plan = (await admin.getByTestId("round-plan").textContent()) ?? "";
    expect(plan).toMatch(/Bootstrap/);
    expect(plan).toMatch(/Reward model and policy: skipped \(only 0 train pairs; at least 8 needed\)/);
    const missing = (await admin.getByTestId("round-missing").textContent()) ?? "";
    // the annotator judged one comparison of fh-pairwise; overlap 2 needs a second person
    expect(missing).toMatch(/1 comparison has judgments but fewer than the 2/);
    expect(missing).toMatch(/Only 1 annotator has judged/);
    expect(await admin.getByTestId("training-summary").textContent()).toMatch(
      /now0 preference pairs, |\s0 preference pairs, /,
    );
    // With a policy in place, a round would train nothing: refused, before and on the server
    await prisma.checkpoint.create({
      data: { projectId: pairwise.projectId, kind: "sft", name: "sft-fh", path: "x", promoted: true },
    });
    await admin.reload();
    await admin.getByTestId("round-refusal").waitFor({ timeout: 30_000 });
    expect(await admin.getByTestId("run-now").isDisabled()).toBe(true);
    const refused = await admin.evaluate(async (projectId) => {
      const r = await fetch("/api/trpc/training.runNow", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ json: { projectId } }),
      });
      return { status: r.status, body: await r.text() };
    }, pairwise.projectId);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatch(/Nothing to train: only 0 train pairs \(at least 8 needed\)/);
    expect(await prisma.trainingRound.count({ where: { projectId: pairwise.projectId } })).toBe(0);
    await admin.screenshot({ path: artifactPath("first-hour-training-plan.png"), fullPage: true });
  });

  test("a round's stages read as sentences, and its gate agrees with the lineage", async () => {
    const reason = "only 1 train pair (at least 8 needed; label more comparisons)";
    await prisma.trainingRound.create({
      data: {
        projectId: pairwise.projectId,
        number: 1,
        status: "succeeded",
        stage: "done",
        trigger: "manual",
        result: {
          snapshot: { id: "s1", hash: "h", pairCount: 1, train: 1, validation: 0, newPairs: 1 },
          reward: { skipped: reason },
          policy: { skipped: reason },
          gate: { passed: false, reason: `nothing to promote: ${reason}`, checkpointId: null },
          seconds: { snapshot: 0.4 },
        },
      },
    });
    await admin.reload();
    await admin.getByTestId("round-detail").waitFor({ timeout: 30_000 });
    const detail = (await admin.getByTestId("round-detail").textContent()) ?? "";
    expect(detail).not.toMatch(/[{}"]/);
    expect(await admin.getByTestId("stage-snapshot-summary").textContent()).toBe(
      "Froze 1 preference pair, 1 for training, 0 for validation, 1 new since the previous round.",
    );
    expect(await admin.getByTestId("stage-policy-summary").textContent()).toBe(`Skipped: ${reason}.`);
    expect(await admin.getByTestId("round-1-gate").textContent()).toBe("no new policy");
    expect(await admin.getByTestId("round-1-skipped").textContent()).toMatch(/no reward or policy training/);
    const lineage = (await admin.getByTestId("lineage").textContent()) ?? "";
    expect(lineage).toMatch(/sft-fh.*first policy \(bootstrap\).*in use/);
  });

  test("judges: the default base URL follows PAIRWISE_SERVE_PORT; a run without verdicts is not a success; details fit 1366 px", async () => {
    const cfg = await prisma.judgeConfig.create({
      data: {
        projectId: pairwise.projectId,
        name: "garbled",
        kind: "llm",
        baseUrl: "http://x/v1",
        model: "m",
      },
    });
    const run = await prisma.judgeRun.create({
      data: {
        judgeConfigId: cfg.id,
        judgeVersion: 1,
        projectId: pairwise.projectId,
        status: "succeeded",
        total: 3,
        unparseable: 3,
        finishedAt: new Date(),
      },
    });
    for (let i = 0; i < 3; i++)
      await prisma.judgeAttempt.create({
        data: {
          runId: run.id,
          comparisonId: pairwise.comparisonIds[i]!,
          order: "AB",
          status: "unparseable",
          error: "no verdict in the reply",
          rawReply: "x".repeat(3000) + " " + "https://example.com/" + "a".repeat(400),
        },
      });
    await admin.goto(app.baseUrl + "/admin/judges?project=fh-pairwise");
    await admin.getByTestId(`run-${run.id}-no-verdicts`).waitFor({ timeout: 30_000 });
    expect(await admin.getByTestId(`run-${run.id}-status`).textContent()).not.toMatch(/succeeded/);
    const port = new URL(app.serveUrl).port;
    expect(port).not.toBe("3001");
    expect(await admin.locator('input[value$="/v1"]').first().inputValue()).toBe(
      `http://127.0.0.1:${port}/v1`,
    );
    await admin.getByTestId(`run-${run.id}`).getByRole("button", { name: "Details" }).click();
    await admin.getByTestId(`run-problems-${run.id}`).waitFor();
    expect(await admin.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1366);
    await admin.screenshot({ path: artifactPath("first-hour-judges.png"), fullPage: true });
  });

  test("a partial import is not shown as a success", async () => {
    await admin.goto(app.baseUrl + "/admin/data?project=fh-tabs");
    const rows = [JSON.stringify({ prompt: "P", completions: ["one", "two"] }), "{ broken"];
    await admin.getByTestId("import-file").setInputFiles({
      name: "partial.jsonl",
      mimeType: "application/jsonl",
      buffer: Buffer.from(rows.join("\n") + "\n"),
    });
    await admin.getByTestId("import-start").click();
    await admin.getByTestId("import-summary").waitFor({ timeout: 30_000 });
    const bar = admin.getByTestId("import-job-bar");
    await admin.waitForFunction(
      () => document.querySelector('[data-testid="import-job-bar"]')?.getAttribute("data-tone") !== "busy",
    );
    expect(await bar.getAttribute("data-tone")).toBe("partial");
    // not Chrome's default (green) and not the green of a clean success
    const colors = await bar.evaluate((el) => {
      const green = document.createElement("progress");
      green.className = "accent-green-600";
      document.body.append(green);
      const out = { bar: getComputedStyle(el).accentColor, green: getComputedStyle(green).accentColor };
      green.remove();
      return out;
    });
    expect(colors.bar).not.toBe("auto");
    expect(colors.bar).not.toBe(colors.green);
    expect(await admin.getByTestId("import-progress").textContent()).toMatch(/partial: 1 bad row skipped/);
  });

  test("an invalid slug gets a readable message, and its pattern compiles", async () => {
    const page = await newPage(admin.context());
    await page.goto(app.baseUrl + "/admin/projects/new");
    await page.getByTestId("project-name").fill("Slug test");
    await page.getByTestId("project-slug").fill("Bad Slug");
    expect(
      await page
        .getByTestId("project-slug")
        .evaluate((el) => (el as HTMLInputElement).validity.patternMismatch),
    ).toBe(true);
    await page.getByTestId("project-slug").fill("good-slug-1");
    expect(
      await page.getByTestId("project-slug").evaluate((el) => (el as HTMLInputElement).validity.valid),
    ).toBe(true);
    // past the browser's own check (as a script or an old browser would be): the server's message, readable
    await page.getByTestId("project-slug").fill("Bad Slug");
    await page.getByTestId("project-form").evaluate((f) => ((f as HTMLFormElement).noValidate = true));
    await page.getByTestId("project-save").click();
    const msg = page.getByTestId("project-message");
    await msg.waitFor();
    expect(await msg.textContent()).toMatch(/^Slug: lowercase letters, digits and -/);
    expect(await msg.textContent()).not.toMatch(/[[\]{}"]/);
    expect(page.problems.filter((p) => /pattern/i.test(p))).toEqual([]);
  });

  test("both demo dashboards load without console errors (no hydration error #418, no favicon 404)", async () => {
    for (const slug of ["mini-r1", "helpfulness-ranking"]) {
      const page = await newPage(admin.context());
      await page.goto(app.baseUrl + `/admin/projects/${slug}/dashboard`);
      await page.waitForLoadState("networkidle");
      await new Promise((r) => setTimeout(r, 500));
      expect(page.problems).toEqual([]);
    }
    const ico = await fetch(app.baseUrl + "/favicon.ico");
    expect(ico.status).toBe(200);
    expect(ico.headers.get("content-type")).toMatch(/icon/);
  });

  test("plurals: 1 rater", async () => {
    await admin.goto(app.baseUrl + "/admin/projects/fh-tabs/dashboard");
    expect(await admin.locator("body").textContent()).toMatch(/units with exactly 1 rater\)/);
  });
});

describe("refusals and sign-in", SLOW, () => {
  test("sign-in brings you back to the page asked for; an annotator sent to an admin page is told why", async () => {
    const page = await newPage();
    await page.goto(app.baseUrl + "/admin/judges?project=fh-tabs");
    await page.waitForURL(/\/login\?callbackUrl=/);
    await signIn(page, ANNOTATOR, "here");
    await page.getByTestId("access-denied").waitFor({ timeout: 30_000 });
    expect(new URL(page.url()).pathname).toBe("/");
    expect(await page.getByTestId("access-denied").textContent()).toMatch(
      /\/admin\/judges\?project=fh-tabs is only for admins; you are signed in as .* \(annotator\)/,
    );
    const adminPage = await newPage();
    await adminPage.goto(app.baseUrl + "/admin/training?project=fh-tabs");
    await adminPage.waitForURL(/\/login\?callbackUrl=/);
    await signIn(adminPage, ADMIN, "here");
    await adminPage.waitForURL((u) => u.pathname === "/admin/training" && u.search === "?project=fh-tabs");
    // never off-site
    const evil = await newPage();
    await evil.goto(app.baseUrl + "/login?callbackUrl=//example.com/x");
    await signIn(evil, ADMIN, "here");
    expect(new URL(evil.url()).host).toBe(new URL(app.baseUrl).host);
  });
});
