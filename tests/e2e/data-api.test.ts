// The REST API over real HTTP through the running app (`pairwise start`): a token made with the
// CLI, a streamed import, a streamed export, the OpenAPI document.
import fs from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import { afterAll, beforeAll, expect, test } from "vitest";
import { ROOT, startTestApp, type TestApp } from "../helpers/app";

let app: TestApp;

function cli(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      PAIRWISE_DATA_DIR: app.dataDir,
    };
    delete env.NODE_ENV;
    delete env.DATABASE_URL;
    if (app.databaseUrl) env.DATABASE_URL = app.databaseUrl;
    const child = spawn(process.execPath, [path.join(ROOT, "bin/pairwise.mjs"), ...args], {
      cwd: ROOT,
      env: env as NodeJS.ProcessEnv,
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.stderr.on("data", (d: Buffer) => (out += d));
    child.on("exit", (code) => resolve({ code, out }));
  });
}

beforeAll(async () => {
  app = await startTestApp({ processes: [] });
}, 300_000);
afterAll(async () => {
  await app?.stop();
});

test("import and export over HTTP with an API token", async () => {
  const made = await cli([
    "tokens",
    "create",
    "--user",
    "admin@pairwise.local",
    "--scopes",
    "admin",
    "--json",
  ]);
  expect(made.code).toBe(0);
  const { token } = JSON.parse(made.out.trim().split("\n").pop()!) as { token: string };
  const H = { authorization: `Bearer ${token}` };
  const api = `${app.baseUrl}/api/v1`;

  expect((await fetch(`${api}/projects`)).status).toBe(401);
  const created = await fetch(`${api}/projects`, {
    method: "POST",
    headers: { ...H, "content-type": "application/json" },
    body: JSON.stringify({ slug: "http-e2e", name: "HTTP" }),
  });
  expect(created.status).toBe(201);

  // the body is streamed from the file
  const file = path.join(ROOT, "tests/fixtures/data/trl.jsonl");
  const body = fs.createReadStream(file);
  const imp = await fetch(`${api}/projects/http-e2e/import?fileName=trl.jsonl`, {
    method: "POST",
    headers: { ...H, "content-type": "application/x-ndjson" },
    body: body as unknown as BodyInit,
    duplex: "half",
  } as RequestInit);
  expect(imp.status).toBe(200);
  const result = (await imp.json()) as { jobId: string; report: { valid: number; added: { pairs: number } } };
  expect(result.report).toMatchObject({ valid: 5, added: { pairs: 5 } });
  const job = (await (await fetch(`${api}/imports/${result.jobId}`, { headers: H })).json()) as {
    status: string;
    fraction: number;
  };
  expect(job).toMatchObject({ status: "succeeded", fraction: 1 });

  const exp = await fetch(`${api}/projects/http-e2e/export?format=trl`, { headers: H });
  expect(exp.status).toBe(200);
  expect(exp.headers.get("content-type")).toMatch(/application\/x-ndjson/);
  const rows = (await exp.text())
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { prompt: string; chosen: string; rejected: string });
  const input = fs
    .readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { prompt: string; chosen: string; rejected: string });
  const key = (r: { prompt: string; chosen: string; rejected: string }) =>
    JSON.stringify([r.prompt, r.chosen, r.rejected]);
  expect(rows.map(key).sort()).toEqual(input.map(key).sort());

  const missing = await fetch(`${api}/projects/nope/export`, { headers: H });
  expect(missing.status).toBe(404);
  expect(await missing.json()).toMatchObject({ error: { code: "not_found" } });

  const doc = (await (await fetch(`${api}/openapi.json`)).json()) as {
    openapi: string;
    paths: Record<string, unknown>;
  };
  expect(doc.openapi).toBe("3.1.0");
  expect(Object.keys(doc.paths)).toContain("/api/v1/projects/{project}/import");
});

test("the annotator's loop over HTTP: next → submit through the web process's fast lane, a double click writes one judgment", async () => {
  const made = await cli([
    "tokens",
    "create",
    "--user",
    "annotator@pairwise.local",
    "--scopes",
    "write",
    "--json",
  ]);
  expect(made.code).toBe(0);
  const { token } = JSON.parse(made.out.trim().split("\n").pop()!) as { token: string };
  const adminMade = await cli([
    "tokens",
    "create",
    "--user",
    "admin@pairwise.local",
    "--scopes",
    "admin",
    "--json",
  ]);
  const admin = {
    authorization: `Bearer ${(JSON.parse(adminMade.out.trim().split("\n").pop()!) as { token: string }).token}`,
    "content-type": "application/json",
  };
  const H = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const api = `${app.baseUrl}/api/v1`;
  expect(
    (
      await fetch(`${api}/projects`, {
        method: "POST",
        headers: admin,
        body: JSON.stringify({ slug: "loop-e2e", name: "Loop", overlap: 1 }),
      })
    ).status,
  ).toBe(201);
  for (let i = 0; i < 2; i++) {
    const r = await fetch(`${api}/projects/loop-e2e/comparisons`, {
      method: "POST",
      headers: admin,
      body: JSON.stringify({
        prompt: `Question ${i}?`,
        completions: [
          { text: `Answer ${i}a`, model: "m1" },
          { text: `Answer ${i}b`, model: "m2" },
        ],
      }),
    });
    expect(r.status).toBe(201);
  }

  expect((await fetch(`${api}/projects/loop-e2e/annotation/next`, { method: "POST" })).status).toBe(401);
  // Not a member of the new project yet: refused; the admin adds them over REST.
  expect(
    (await fetch(`${api}/projects/loop-e2e/annotation/next`, { method: "POST", headers: H })).status,
  ).toBe(403);
  const added = await fetch(`${api}/projects/loop-e2e/members`, {
    method: "POST",
    headers: admin,
    body: JSON.stringify({ user: "annotator@pairwise.local" }),
  });
  expect(added.status).toBe(200);
  const next = await fetch(`${api}/projects/loop-e2e/annotation/next`, {
    method: "POST",
    headers: H,
    body: "{}",
  });
  expect(next.status).toBe(200);
  expect(next.headers.get("x-pairwise-lane")).toBe("fast"); // answered before Next.js
  const lease = (await next.json()) as {
    kind: string;
    assignment: {
      assignmentId: string;
      comparisonId: string;
      completions: Array<{ label: string; text: string }>;
    };
  };
  expect(lease.kind).toBe("assignment");
  expect(lease.assignment.completions.map((c) => c.label)).toEqual(["A", "B"]);
  expect(JSON.stringify(lease)).not.toMatch(/"m1"|"m2"/);

  const input = JSON.stringify({
    assignmentId: lease.assignment.assignmentId,
    idempotencyKey: `e2e-${lease.assignment.assignmentId}`,
    answer: { kind: "pairwise", choice: "B", strength: 1 },
  });
  const [a, b] = await Promise.all(
    [0, 1].map(() => fetch(`${api}/annotation/submit`, { method: "POST", headers: H, body: input })),
  );
  const [ja, jb] = (await Promise.all([a!.json(), b!.json()])) as Array<{
    judgmentId: string;
    duplicate: boolean;
  }>;
  expect(ja!.judgmentId).toBe(jb!.judgmentId);
  expect([ja!.duplicate, jb!.duplicate].sort()).toEqual([false, true]);
  const judgments = (await (
    await fetch(`${api}/comparisons/${lease.assignment.comparisonId}/judgments`, { headers: H })
  ).json()) as { items: unknown[] };
  expect(judgments.items).toHaveLength(1);

  const bad = await fetch(`${api}/annotation/submit`, {
    method: "POST",
    headers: H,
    body: JSON.stringify({ assignmentId: lease.assignment.assignmentId }),
  });
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/idempotencyKey/);

  // the OpenAPI document lists the annotation and training routes too
  const doc = (await (await fetch(`${api}/openapi.json`)).json()) as { paths: Record<string, unknown> };
  expect(Object.keys(doc.paths)).toEqual(
    expect.arrayContaining([
      "/api/v1/projects/{project}/annotation/next",
      "/api/v1/annotation/submit",
      "/api/v1/projects/{project}/rounds",
    ]),
  );
});
