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
    const env: Record<string, string> = { ...(process.env as Record<string, string>), PAIRWISE_DATA_DIR: app.dataDir };
    delete env.NODE_ENV;
    delete env.DATABASE_URL;
    if (app.databaseUrl) env.DATABASE_URL = app.databaseUrl;
    const child = spawn(process.execPath, [path.join(ROOT, "bin/pairwise.mjs"), ...args], { cwd: ROOT, env: env as NodeJS.ProcessEnv });
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
  const made = await cli(["tokens", "create", "--user", "admin@pairwise.local", "--scopes", "admin", "--json"]);
  expect(made.code).toBe(0);
  const { token } = JSON.parse(made.out.trim().split("\n").pop()!) as { token: string };
  const H = { authorization: `Bearer ${token}` };
  const api = `${app.baseUrl}/api/v1`;

  expect((await fetch(`${api}/projects`)).status).toBe(401);
  const created = await fetch(`${api}/projects`, { method: "POST", headers: { ...H, "content-type": "application/json" }, body: JSON.stringify({ slug: "http-e2e", name: "HTTP" }) });
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
  const job = (await (await fetch(`${api}/imports/${result.jobId}`, { headers: H })).json()) as { status: string; fraction: number };
  expect(job).toMatchObject({ status: "succeeded", fraction: 1 });

  const exp = await fetch(`${api}/projects/http-e2e/export?format=trl`, { headers: H });
  expect(exp.status).toBe(200);
  expect(exp.headers.get("content-type")).toMatch(/application\/x-ndjson/);
  const rows = (await exp.text()).trim().split("\n").map((l) => JSON.parse(l) as { prompt: string; chosen: string; rejected: string });
  const input = fs.readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { prompt: string; chosen: string; rejected: string });
  const key = (r: { prompt: string; chosen: string; rejected: string }) => JSON.stringify([r.prompt, r.chosen, r.rejected]);
  expect(rows.map(key).sort()).toEqual(input.map(key).sort());

  const missing = await fetch(`${api}/projects/nope/export`, { headers: H });
  expect(missing.status).toBe(404);
  expect(await missing.json()).toMatchObject({ error: { code: "not_found" } });

  const doc = (await (await fetch(`${api}/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
  expect(doc.openapi).toBe("3.1.0");
  expect(Object.keys(doc.paths)).toContain("/api/v1/projects/{project}/import");
});
