// The annotation app in a real Chromium against the real system (`pairwise start`): keyboard-only
// judging, fair queues between two annotators, an expired lease that keeps the draft, K-way
// ranking by keyboard, XSS payloads rendered inert, axe-core on both judging views, and the
// admin dashboard's counts moving. One app, one browser, a few contexts.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import type { PrismaClient } from "@prisma/client";
import { artifactPath, launchBrowser } from "../helpers/browser";
import { startTestApp, type TestApp } from "../helpers/app";
import { makeProject, type ProjectFixture } from "../integration/annotation/fixtures";

const require = createRequire(import.meta.url);
const AXE = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

let app: TestApp;
let prisma: PrismaClient;
let browser: Browser;
let pairwise: ProjectFixture;
let xss: ProjectFixture;
const contexts: BrowserContext[] = [];

const TEXTS = (i: number, j: number) =>
  j === 0
    ? `**Answer ${i}.** Here is code:\n\n\`\`\`python\ndef f(x):\n    return x * ${i}\n\`\`\`\n\nand math $x^{${i}}$.`
    : `<think>Let me think about ${i} step by step.</think>\n\nThe answer is ${i + 1}, with a [link](https://example.com/${i}).`;

const XSS_PAYLOADS = [
  `<script>window.__xss = "script"; alert("script")</script>`,
  `<img src=x onerror="window.__xss='img'; alert('img')">`,
  `[click me](javascript:window.__xss='md-link';alert('md'))`,
  `<a href="javascript:window.__xss='a-href'">raw anchor</a>`,
  `<svg onload="window.__xss='svg'"></svg> <iframe src="javascript:window.__xss='iframe'"></iframe>`,
  `![pic](javascript:window.__xss='img-md')`,
].join("\n\n");

beforeAll(async () => {
  app = await startTestApp();
  const url =
    app.databaseUrl ?? JSON.parse(fs.readFileSync(path.join(app.dataDir, "database.json"), "utf8")).url;
  const { createPrisma } = await import("@/server/db/client");
  prisma = createPrisma(url, { max: 1 });
  pairwise = await makeProject(prisma, { comparisons: 14, overlap: 1, texts: TEXTS });
  await prisma.project.update({
    where: { id: pairwise.projectId },
    data: { slug: "e2e-pairwise", name: "E2E pairwise", instructions: "Pick the **better** answer." },
  });
  xss = await makeProject(prisma, {
    comparisons: 1,
    overlap: 1,
    texts: (_i, j) => `Completion ${j}\n\n${XSS_PAYLOADS}`,
  });
  await prisma.project.update({ where: { id: xss.projectId }, data: { slug: "e2e-xss", name: "E2E xss" } });
  const p = await prisma.comparison.findUniqueOrThrow({
    where: { id: xss.comparisonIds[0]! },
    select: { promptId: true },
  });
  await prisma.prompt.update({
    where: { id: p.promptId },
    data: { text: `Prompt with payloads\n\n${XSS_PAYLOADS}` },
  });
  browser = await launchBrowser();
}, 300_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await prisma?.$disconnect();
  await app?.stop();
});

async function newPage(): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  contexts.push(ctx);
  const page = await ctx.newPage();
  page.on("dialog", (d) => {
    throw new Error(`unexpected dialog: ${d.message()}`);
  });
  return page;
}

/** Keyboard-only sign-in. */
async function signIn(page: Page, email: string, password: string) {
  await page.goto(app.baseUrl + "/login");
  await page.getByTestId("login-email").focus();
  await page.keyboard.type(email);
  await page.keyboard.press("Tab");
  await page.keyboard.type(password);
  await page.keyboard.press("Enter");
  await page.waitForURL((u) => !u.pathname.startsWith("/login"), { timeout: 30_000 });
}

const session = (page: Page) => page.getByTestId("annotate-session");

async function currentAssignment(page: Page): Promise<string> {
  await page.waitForFunction(() => {
    const el = document.querySelector('[data-testid="annotate-session"]');
    return el && el.getAttribute("data-phase") !== "loading";
  });
  return (await session(page).getAttribute("data-assignment-id")) ?? "";
}

/** Press keys, then wait until the session shows another item (or the empty state). */
async function pressAndAdvance(page: Page, keys: string[]): Promise<string> {
  const before = await currentAssignment(page);
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

async function axeCritical(page: Page) {
  await page.addScriptTag({ content: AXE });
  const result = await page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run: (
            ctx: unknown,
            opts: unknown,
          ) => Promise<{ violations: Array<{ id: string; impact: string; nodes: unknown[] }> }>;
        };
      }
    ).axe;
    return axe.run(document, { resultTypes: ["violations"] });
  });
  return result.violations.filter((v) => v.impact === "critical").map((v) => `${v.id} (${v.nodes.length})`);
}

describe("annotation in the browser", () => {
  let admin: Page;
  let first: Page;
  let second: Page;
  const judgedByFirst: string[] = [];

  test("admin dashboard before any judgment", async () => {
    admin = await newPage();
    await signIn(admin, "admin@pairwise.local", "pairwise-admin");
    await admin.goto(app.baseUrl + "/admin/projects/e2e-pairwise/dashboard");
    expect(await admin.getByTestId("count-human").textContent()).toBe("0");
    expect(await admin.getByTestId("count-open").textContent()).toBe("14");
  });

  test("an annotator judges ten comparisons with the keyboard only", async () => {
    first = await newPage();
    await signIn(first, "annotator@pairwise.local", "pairwise-annotator");
    await first.goto(app.baseUrl + "/annotate/e2e-pairwise");
    await currentAssignment(first);
    // blind: no model names on the page
    expect(await first.content()).not.toMatch(/model-x|model-y/);
    // Markdown, code, math, collapsible reasoning
    expect(await first.locator('[data-testid="assignment"] pre code.hljs').count()).toBeGreaterThan(0);
    expect(await first.locator('[data-testid="assignment"] .katex').count()).toBeGreaterThan(0);
    expect(await first.locator('[data-testid^="reasoning-"] summary').count()).toBe(1);
    // `?` shows the keys
    await first.keyboard.press("?");
    await first.getByTestId("help-dialog").waitFor();
    await first.screenshot({ path: artifactPath("annotation-help.png") });
    await first.keyboard.press("Escape");
    await first.getByTestId("help-dialog").waitFor({ state: "detached" });
    // visible focus on keyboard focus
    await first.keyboard.press("Tab");
    await first.keyboard.press("Tab");
    const outline = await first.evaluate(() => {
      const s = getComputedStyle(document.activeElement as Element);
      return { style: s.outlineStyle, width: parseFloat(s.outlineWidth) };
    });
    expect(outline.style).not.toBe("none");
    expect(outline.width).toBeGreaterThan(0);
    await first.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    expect(await axeCritical(first)).toEqual([]);

    for (let i = 0; i < 10; i++) {
      const keys = i % 3 === 0 ? ["a", "2"] : i % 3 === 1 ? ["b"] : ["t"];
      if (i === 1) {
        // a rationale typed without the mouse, and a double Enter
        await first.keyboard.press("r");
        await first.keyboard.type("B explains its steps.");
        await first.keyboard.press("Escape");
        keys.push("Enter");
      }
      if (i === 4) await first.screenshot({ path: artifactPath("annotation-pairwise.png"), fullPage: true });
      judgedByFirst.push(await pressAndAdvance(first, [...keys, "Enter"]));
    }
    const judgments = await prisma.judgment.findMany({
      where: { projectId: pairwise.projectId },
      include: { user: true },
    });
    expect(judgments).toHaveLength(10);
    expect(new Set(judgments.map((j) => j.assignmentId))).toEqual(new Set(judgedByFirst));
    expect(
      judgments.every(
        (j) =>
          j.user?.email === "annotator@pairwise.local" && j.source === "human" && (j.timeSpentMs ?? 0) > 0,
      ),
    ).toBe(true);
    expect(judgments.find((j) => j.rationale)?.rationale).toBe("B explains its steps.");
    const strong = judgments.filter((j) => (j.verdict as { strength?: number }).strength === 2);
    expect(strong).toHaveLength(4);
    await first.reload();
    await currentAssignment(first);
    expect(await first.getByTestId("progress-today").textContent()).toBe("10");
  });

  test("a second annotator gets only what is still open; an expired lease keeps the draft", async () => {
    second = await newPage();
    await signIn(second, "annotator2@pairwise.local", "pairwise-annotator");
    await second.goto(app.baseUrl + "/annotate/e2e-pairwise");
    const held = await currentAssignment(second);
    // type a rationale, then lose the lease (as if the annotator had gone to lunch)
    await second.keyboard.press("r");
    await second.keyboard.type("Draft I do not want to lose");
    await second.keyboard.press("Escape");
    await second.keyboard.press("a");
    await prisma.assignment.update({
      where: { id: held },
      data: { expiresAt: new Date(Date.now() - 60_000) },
    });
    const { sweepExpiredLeases } = await import("@/server/annotation/queue");
    expect(await sweepExpiredLeases(prisma)).toBe(1);
    await second.keyboard.press("Enter");
    await second.getByTestId("expired-banner").waitFor();
    expect(await second.getByTestId("expired-draft").textContent()).toBe("Draft I do not want to lose");
    await second.screenshot({ path: artifactPath("annotation-expired.png") });
    await second.keyboard.press("Enter"); // take it back
    await second.getByTestId("draft-restored").waitFor();
    expect(await second.getByTestId("rationale").inputValue()).toBe("Draft I do not want to lose");
    await pressAndAdvance(second, ["Enter"]);
    const rest: string[] = [held];
    while ((await session(second).getAttribute("data-phase")) === "item")
      rest.push(await pressAndAdvance(second, ["b", "Enter"]));
    await second.getByTestId("empty-state").waitFor();
    // 14 − 10 judged by the first annotator − 1 the first annotator holds right now
    expect(rest).toHaveLength(3);
    const heldByFirst = await currentAssignment(first);
    const heldComparison = (await prisma.assignment.findUniqueOrThrow({ where: { id: heldByFirst } }))
      .comparisonId;
    // the first annotator skips (keyboard: S, then Enter on the first reason): the item is released
    await first.keyboard.press("s");
    await first.getByTestId("skip-dialog").waitFor();
    await first.keyboard.press("Enter");
    await first.getByTestId("empty-state").waitFor();
    // ... and the second annotator now gets it
    await second.keyboard.press("n");
    const got = await currentAssignment(second);
    expect((await prisma.assignment.findUniqueOrThrow({ where: { id: got } })).comparisonId).toBe(
      heldComparison,
    );
    rest.push(await pressAndAdvance(second, ["b", "Enter"]));
    await second.getByTestId("empty-state").waitFor();
    const byUser = await prisma.judgment.findMany({
      where: { projectId: pairwise.projectId },
      select: { comparisonId: true, rationale: true, user: { select: { email: true } } },
    });
    const firstSet = new Set(
      byUser.filter((j) => j.user?.email === "annotator@pairwise.local").map((j) => j.comparisonId),
    );
    const secondSet = byUser
      .filter((j) => j.user?.email === "annotator2@pairwise.local")
      .map((j) => j.comparisonId);
    expect(secondSet).toHaveLength(4);
    expect(secondSet.some((c) => firstSet.has(c))).toBe(false);
    expect(byUser.some((j) => j.rationale === "Draft I do not want to lose")).toBe(true);
    const skipped = await prisma.assignment.findUniqueOrThrow({ where: { id: heldByFirst } });
    expect(skipped).toMatchObject({ status: "skipped", skipReason: "not_sure" });
    const comparisons = await prisma.comparison.findMany({ where: { projectId: pairwise.projectId } });
    expect(comparisons.every((c) => c.judgmentCount === 1 && c.leaseCount === 0)).toBe(true);
  });

  test("K-way ranking entirely by keyboard, with a tie", async () => {
    await second.goto(app.baseUrl + "/annotate/helpfulness-ranking");
    const id = await currentAssignment(second);
    await second.getByTestId("ranking-list").waitFor();
    expect(await axeCritical(second)).toEqual([]);
    // A, B, C → move C to the top, then tie B with A: C > A = B
    await second.keyboard.press("3");
    await second.keyboard.press("Shift+ArrowUp");
    await second.keyboard.press("Shift+ArrowUp");
    await second.keyboard.press("3");
    await second.keyboard.press("2");
    await second.keyboard.press("=");
    expect(await second.getByTestId("rank-item-C").getAttribute("data-place")).toBe("1");
    expect(await second.getByTestId("rank-item-B").getAttribute("data-place")).toBe("2");
    expect(await second.getByTestId("rank-item-A").getAttribute("data-place")).toBe("2");
    await second.screenshot({ path: artifactPath("annotation-ranking.png"), fullPage: true });
    await pressAndAdvance(second, ["Enter"]);
    const a = await prisma.assignment.findUniqueOrThrow({ where: { id } });
    const j = await prisma.judgment.findFirstOrThrow({ where: { assignmentId: id } });
    const [A, B, C] = a.displayOrder;
    expect(j.verdict).toEqual({ kind: "ranking", ranking: [[C], [A, B]] });
  });

  test("prompts, completions and rationales with script payloads render inert", async () => {
    await first.evaluate(() => ((window as unknown as { __xss?: string }).__xss = undefined));
    await first.goto(app.baseUrl + "/annotate/e2e-xss");
    await currentAssignment(first);
    await first.getByTestId("completion-A").waitFor();
    // the Markdown link and the image were neutralised; nothing ran
    const probe = async (page: Page) =>
      page.evaluate(() => ({
        xss: (window as unknown as { __xss?: string }).__xss ?? null,
        jsHrefs: [...document.querySelectorAll("a[href], iframe[src], img[src]")]
          .map((e) => e.getAttribute("href") ?? e.getAttribute("src") ?? "")
          .filter((h) => /^\s*javascript:/i.test(h)).length,
        handlers: [...document.querySelectorAll("main *")].filter((e) =>
          [...e.attributes].some((a) => a.name.startsWith("on")),
        ).length,
        scripts: document.querySelectorAll("main script, main iframe, main svg[onload]").length,
      }));
    const p1 = await probe(first);
    expect(p1).toEqual({ xss: null, jsHrefs: 0, handlers: 0, scripts: 0 });
    await first.getByText("click me").first().click(); // a link without a javascript: target
    await first.keyboard.press("r");
    await first.keyboard.type(
      `<img src=x onerror="window.__xss='rationale'"> <script>window.__xss='r2'</script>`,
    );
    await first.keyboard.press("Escape");
    await pressAndAdvance(first, ["a", "Enter"]);
    expect((await probe(first)).xss).toBeNull();
    // a reviewer opens it: the rationale is text
    await admin.goto(app.baseUrl + `/review/${xss.comparisonIds[0]}`);
    await admin.getByTestId("review-rationale-text").waitFor();
    expect(await admin.getByTestId("review-rationale-text").textContent()).toContain("<img src=x onerror=");
    expect(await probe(admin)).toEqual({ xss: null, jsHrefs: 0, handlers: 0, scripts: 0 });
    await admin.screenshot({ path: artifactPath("annotation-review.png"), fullPage: true });
  });

  test("the admin sees the dashboard counts change", async () => {
    await admin.goto(app.baseUrl + "/admin/projects/e2e-pairwise/dashboard");
    expect(await admin.getByTestId("count-human").textContent()).toBe("14");
    expect(await admin.getByTestId("annotator-row").count()).toBe(2);
    expect(await admin.getByTestId("leaderboard-row").count()).toBe(2);
    await admin.screenshot({ path: artifactPath("annotation-dashboard.png"), fullPage: true });
    await admin.goto(app.baseUrl + "/admin");
    expect(await admin.getByTestId("summary-e2e-pairwise-human").textContent()).toBe("14");
    await admin.screenshot({ path: artifactPath("annotation-admin.png"), fullPage: true });
  });
  test("an admin creates a project, imports into it and exports with progress bars", async () => {
    await admin.goto(app.baseUrl + "/admin/projects/new");
    await admin.getByTestId("project-name").fill("E2E import");
    await admin.getByTestId("project-slug").fill("e2e-import");
    await admin.getByTestId("project-instructions").fill("Prefer the **correct** answer.");
    await admin.getByTestId("instructions-preview").locator("strong", { hasText: "correct" }).waitFor();
    await admin.getByTestId("project-overlap").fill("2");
    await admin.getByTestId("project-save").click();
    await admin.waitForURL(/\/admin\/projects\/e2e-import$/);
    const created = await prisma.project.findUniqueOrThrow({ where: { slug: "e2e-import" } });
    expect(created.overlap).toBe(2);

    await admin.goto(app.baseUrl + "/admin/data?project=e2e-import");
    const lines = [0, 1, 2].map((i) =>
      JSON.stringify({
        prompt: `Imported prompt ${i}`,
        completions: [`first ${i}`, { text: `second ${i}`, model: "m2" }],
      }),
    );
    lines.push("{ not json");
    await admin.getByTestId("import-file").setInputFiles({
      name: "rows.jsonl",
      mimeType: "application/jsonl",
      buffer: Buffer.from(lines.join("\n") + "\n"),
    });
    await admin.getByTestId("import-start").click();
    await admin.getByTestId("import-summary").waitFor({ timeout: 30_000 });
    expect(await admin.getByTestId("import-summary").textContent()).toMatch(/3 comparisons/);
    expect(await admin.getByTestId("import-errors").textContent()).toMatch(/line 4/);
    expect(await admin.getByTestId("import-job-bar").getAttribute("value")).toBe("1");
    expect(await prisma.comparison.count({ where: { projectId: created.id } })).toBe(3);
    await admin.screenshot({ path: artifactPath("annotation-data.png"), fullPage: true });

    await admin.getByTestId("data-project").selectOption("e2e-pairwise");
    const pairs = await prisma.preferencePair.count({
      where: { projectId: pairwise.projectId, active: true },
    });
    const [download] = await Promise.all([
      admin.waitForEvent("download"),
      admin.getByTestId("export-start").click(),
    ]);
    const file = await download.path();
    const exported = fs.readFileSync(file!, "utf8").trim().split("\n").filter(Boolean);
    expect(exported).toHaveLength(pairs);
    expect(Object.keys(JSON.parse(exported[0]!))).toEqual(
      expect.arrayContaining(["prompt", "chosen", "rejected"]),
    );
    expect(await admin.getByTestId("export-bar").getAttribute("value")).toBe("1");
  });
  test("an admin invites by link; the invitee sets a name and password and is signed in", async () => {
    await admin.goto(app.baseUrl + "/admin/people");
    await admin.getByTestId("invite-email").fill("newcomer@example.com");
    await admin.getByTestId("invite-role").selectOption("reviewer");
    await admin.getByTestId("invite-create").click();
    const link = (await admin.getByTestId("invite-link").textContent())!.trim();
    expect(link).toMatch(/\/invite\/[\w-]{20,}$/);
    await admin.screenshot({ path: artifactPath("annotation-people.png"), fullPage: true });
    const guest = await newPage();
    await guest.goto(link);
    await guest.getByTestId("invite-name").fill("New Comer");
    await guest.getByTestId("invite-password").fill("a-good-password");
    await guest.getByTestId("invite-password2").fill("a-good-password");
    await guest.screenshot({ path: artifactPath("annotation-invite.png") });
    await guest.getByTestId("invite-accept").click();
    await guest.getByTestId("home-reviewer").waitFor({ timeout: 30_000 });
    expect(await guest.getByTestId("nav-user").textContent()).toContain("New Comer");
    // the link works once
    const again = await newPage();
    await again.goto(link);
    expect(await again.getByTestId("invite-invalid").textContent()).toMatch(/already been used/);
    await admin.reload();
    expect(
      await admin
        .locator('[data-testid="person-row"][data-email="newcomer@example.com"] [data-testid="person-role"]')
        .inputValue(),
    ).toBe("reviewer");
  });
});
