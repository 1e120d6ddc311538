// Security headers, the page CSP with nonces, sign-in limits and malformed input, on the real
// system (`pairwise start`) with a real HTTP client and a real Chromium.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { launchBrowser } from "../helpers/browser";
import { signInCookie, startTestApp, type TestApp } from "../helpers/app";
import { API_CSP } from "@/server/security-headers";

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp({
    env: { PAIRWISE_RATE_LIMITS: "signin.account=5/600,signin.ip=1000/600" },
  });
}, 300_000);
afterAll(async () => {
  await app?.stop();
});

async function wrongPassword(email: string): Promise<Response> {
  const csrfRes = await fetch(`${app.baseUrl}/api/auth/csrf`);
  const cookie = csrfRes.headers
    .getSetCookie()
    .map((c) => c.split(";")[0])
    .join("; ");
  const { csrfToken } = (await csrfRes.json()) as { csrfToken: string };
  return fetch(`${app.baseUrl}/api/auth/callback/credentials`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie },
    body: new URLSearchParams({ csrfToken, email, password: "not-the-password", json: "true" }),
    redirect: "manual",
  });
}

describe("headers", () => {
  test("pages: a fresh nonce per request on every script, Permissions-Policy, no HSTS over http", async () => {
    const nonces = new Set<string>();
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${app.baseUrl}/login`);
      expect(res.status).toBe(200);
      const csp = res.headers.get("content-security-policy")!;
      const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
      expect(nonce).toBeTruthy();
      nonces.add(nonce!);
      expect(csp).toMatch(/script-src 'self' 'nonce-[^']+' 'strict-dynamic'/);
      expect(csp).not.toMatch(/script-src[^;]*'unsafe-inline'/);
      expect(csp).toMatch(/frame-ancestors 'none'/);
      const html = await res.text();
      const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
      expect(scripts.length).toBeGreaterThan(0);
      for (const s of scripts) expect(s).toContain(`nonce="${nonce}"`);
      expect(res.headers.get("permissions-policy")).toMatch(/camera=\(\)/);
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(res.headers.get("strict-transport-security")).toBeNull();
    }
    expect(nonces.size).toBe(2);
    const https = await fetch(`${app.baseUrl}/login`, { headers: { "x-forwarded-proto": "https" } });
    expect(https.headers.get("strict-transport-security")).toMatch(/max-age=63072000/);
  });

  test("APIs (Next.js routes and the fast lane): no-store, a CSP that runs nothing, the same base headers", async () => {
    const token = await adminToken();
    for (const [path, method] of [
      ["/api/v1/projects", "GET"],
      ["/api/trpc/system.me", "GET"],
      ["/api/v1/annotation/heartbeat", "POST"],
    ] as const) {
      const res = await fetch(`${app.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: method === "POST" ? '{"assignmentId":"none"}' : undefined,
      });
      expect(res.status, path).toBeLessThan(500);
      expect(res.headers.get("cache-control"), path).toBe("no-store");
      expect(res.headers.get("content-security-policy"), path).toBe(API_CSP);
      expect(res.headers.get("x-content-type-options"), path).toBe("nosniff");
      expect(res.headers.get("permissions-policy"), path).toMatch(/camera=\(\)/);
    }
  });

  test("Chromium signs in and the app runs under the CSP: no violation", async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      const violations: string[] = [];
      page.on("console", (m) => {
        if (/Content Security Policy|Refused to (execute|load)/i.test(m.text())) violations.push(m.text());
      });
      await page.goto(`${app.baseUrl}/login`);
      await page.getByTestId("login-email").fill("admin@pairwise.local");
      await page.getByTestId("login-password").fill("pairwise-admin");
      await page.getByTestId("login-submit").click();
      await page.waitForURL((u) => !u.pathname.startsWith("/login"), { timeout: 30_000 });
      await page.goto(`${app.baseUrl}/admin`);
      await page.waitForLoadState("networkidle");
      expect(violations).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});

describe("abuse limits and malformed input", () => {
  test("sign-in: per account, 429 with Retry-After after the limit; the form says why", async () => {
    const codes: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 7; i++) {
      const res = await wrongPassword("annotator@pairwise.local");
      codes.push(res.status);
      if (res.status === 429) retryAfter = res.headers.get("retry-after");
    }
    expect(codes.slice(0, 5).every((c) => c === 401 || c === 200)).toBe(true); // next-auth's "wrong password"
    expect(codes.slice(5)).toEqual([429, 429]);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    // even the right password waits now (the account is being guessed)
    await expect(signInCookie(app.baseUrl, "annotator@pairwise.local", "pairwise-annotator")).rejects.toThrow(
      /HTTP 429/,
    );
    // another account is not affected
    expect(await signInCookie(app.baseUrl, "reviewer@pairwise.local", "pairwise-reviewer")).toMatch(
      /session-token/,
    );
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(`${app.baseUrl}/login`);
      await page.getByTestId("login-email").fill("annotator@pairwise.local");
      await page.getByTestId("login-password").fill("pairwise-annotator");
      await page.getByTestId("login-submit").click();
      expect(await page.getByTestId("login-error").textContent()).toMatch(/Too many sign-in attempts/);
    } finally {
      await browser.close();
    }
  });

  test("malformed input through the real server: 4xx, never 500", async () => {
    const token = await adminToken();
    const h = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const cases: Array<[string, RequestInit]> = [
      ["/api/v1/comparisons/%E0%A4%A", { headers: h }],
      ["/api/v1/comparisons/%00/judgments", { headers: h }],
      ["/api/v1/projects/demo/comparisons?cursor=%00", { headers: h }],
      ["/api/v1/projects/demo/export?snapshotId=%E0%A4%A", { headers: h }],
      ["/api/v1/annotation/submit", { method: "POST", headers: h, body: '{"idempotencyKey":"\\u0000"}' }],
      ["/api/v1/annotation/skip", { method: "POST", headers: h, body: '{"assignmentId":"\\ud800"}' }],
      [
        "/api/v1/annotation/heartbeat",
        { method: "POST", headers: h, body: "[".repeat(5000) + "]".repeat(5000) },
      ],
      [
        "/api/v1/projects",
        { method: "POST", headers: h, body: '{"a":'.repeat(5000) + "1" + "}".repeat(5000) },
      ],
      ["/api/trpc/system.me?input=%7B%22json%22%3A%22%5Cu0000%22%7D", { headers: h }],
      ["/api/trpc/admin.queueImport", { method: "POST", headers: h, body: '{"json":{"project":"\\ud800"}}' }],
    ];
    for (const [path, init] of cases) {
      const res = await fetch(`${app.baseUrl}${path}`, init);
      const body = await res.text();
      expect(res.status, `${path}: ${body.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `${path}: ${body.slice(0, 200)}`).toBeLessThan(500);
    }
    // the fast lane: over 1 MB is a 413, not a reset connection
    const big = await fetch(`${app.baseUrl}/api/v1/annotation/submit`, {
      method: "POST",
      headers: h,
      body: JSON.stringify({ pad: "x".repeat(2 * 1024 * 1024) }),
    });
    expect(big.status).toBe(413);
  });
});

let token: string | undefined;
async function adminToken(): Promise<string> {
  if (token) return token;
  const url =
    app.databaseUrl ?? JSON.parse(fs.readFileSync(path.join(app.dataDir, "database.json"), "utf8")).url;
  const { createPrisma, setDbForTests } = await import("@/server/db/client");
  const prisma = createPrisma(url, { max: 1 });
  setDbForTests(prisma);
  try {
    const { createApiToken } = await import("@/server/auth/tokens");
    const admin = await prisma.user.findUniqueOrThrow({ where: { email: "admin@pairwise.local" } });
    token = (await createApiToken({ userId: admin.id, name: "security e2e", scopes: ["admin"] })).token;
    return token;
  } finally {
    await prisma.$disconnect();
    setDbForTests(undefined);
  }
}
