// The REST handlers with real Request objects against a real database (no Next needed).
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../helpers/db";
import { createApiToken } from "@/server/auth/tokens";
import { closeAppSql } from "@/server/db/client";
import * as api from "@/server/api/handlers";
import { routes } from "@/server/api/routes";
import { annotationNextHandler, annotationRoutes } from "@/server/api/annotation";
import { trainingRoutes } from "@/server/api/training";
import { memberRoutes } from "@/server/api/members";

const BASE = "http://pairwise.test/api/v1";
const FIXTURES = path.resolve(import.meta.dirname, "../../fixtures/data");
let t: TestDatabase;
let admin: string;
let reader: string;
let annotatorWrite: string;

beforeAll(async () => {
  t = await createTestDatabase();
  const a = await t.prisma.user.create({
    data: { email: "admin@example.com", name: "Admin", role: "admin" },
  });
  const n = await t.prisma.user.create({
    data: { email: "ann@example.com", name: "Ann", role: "annotator" },
  });
  admin = (await createApiToken({ userId: a.id, name: "admin", scopes: ["admin"] })).token;
  reader = (await createApiToken({ userId: a.id, name: "read", scopes: ["read"] })).token;
  annotatorWrite = (await createApiToken({ userId: n.id, name: "ann", scopes: ["write"] })).token;
});
afterAll(async () => {
  await closeAppSql();
  await t?.close();
});

function req(
  method: string,
  url: string,
  opts: { token?: string; json?: unknown; body?: BodyInit; headers?: Record<string, string> } = {},
): Request {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.json !== undefined) headers["content-type"] = "application/json";
  return new Request(`${BASE}${url}`, {
    method,
    headers,
    body: opts.json !== undefined ? JSON.stringify(opts.json) : opts.body,
    ...(opts.body instanceof ReadableStream ? { duplex: "half" } : {}),
  } as RequestInit);
}
async function json<T = Record<string, unknown>>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

describe("auth and errors", () => {
  test("no token: 401; missing scope or role: 403; with the error envelope", async () => {
    const none = await api.listProjectsHandler(req("GET", "/projects"));
    expect(none.status).toBe(401);
    expect(await json(none)).toEqual({
      error: { code: "unauthorized", message: expect.stringMatching(/Authorization: Bearer/) },
    });
    const bad = await api.listProjectsHandler(req("GET", "/projects", { token: "pw_nope_nope" }));
    expect(bad.status).toBe(401);
    const scope = await api.createProjectHandler(
      req("POST", "/projects", { token: reader, json: { slug: "x", name: "X" } }),
    );
    expect(scope.status).toBe(403);
    expect((await json<{ error: { message: string } }>(scope)).error.message).toMatch(
      /lacks the "admin" scope/,
    );
    const role = await api.importHandler(
      req("POST", "/projects/x/import", { token: annotatorWrite, body: "{}" }),
    );
    expect(role.status).toBe(403);
    expect((await json<{ error: { message: string } }>(role)).error.message).toMatch(/needs the admin role/);
  });

  test("validation errors and domain errors map to 400 / 404 / 409", async () => {
    const bad = await api.createProjectHandler(
      req("POST", "/projects", { token: admin, json: { slug: "Not A Slug!", name: "" } }),
    );
    expect(bad.status).toBe(400);
    expect((await json<{ error: { code: string; message: string } }>(bad)).error).toMatchObject({
      code: "bad_request",
      message: expect.stringMatching(/body\.slug/),
    });
    const notJson = await api.createProjectHandler(
      req("POST", "/projects", {
        token: admin,
        body: "{nope",
        headers: { "content-type": "application/json" },
      }),
    );
    expect(notJson.status).toBe(400);
    const missing = await api.getProjectHandler(req("GET", "/projects/does-not-exist", { token: reader }));
    expect(missing.status).toBe(404);
    expect(await json(missing)).toMatchObject({ error: { code: "not_found" } });
    await api.createProjectHandler(
      req("POST", "/projects", { token: admin, json: { slug: "dupe", name: "Dupe" } }),
    );
    const dupe = await api.createProjectHandler(
      req("POST", "/projects", { token: admin, json: { slug: "dupe", name: "Dupe" } }),
    );
    expect(dupe.status).toBe(409);
  });
});

test("projects, streamed import, export, comparisons, judgments, pairs and snapshots", async () => {
  const created = await api.createProjectHandler(
    req("POST", "/projects", { token: admin, json: { slug: "rest", name: "REST", overlap: 1 } }),
  );
  expect(created.status).toBe(201);
  const project = await json<{ id: string; slug: string; labelSchema: { kind: string } }>(created);
  expect(project.labelSchema.kind).toBe("pairwise");
  const patched = await api.updateProjectHandler(
    req("PATCH", "/projects/rest", {
      token: admin,
      json: { name: "REST project", settings: { reviewAgreementBelow: 0.6 } },
    }),
  );
  expect(await json(patched)).toMatchObject({
    name: "REST project",
    settings: { reviewAgreementBelow: 0.6, leaseSeconds: 600 },
  });
  const list = await json<{ items: Array<{ slug: string }> }>(
    await api.listProjectsHandler(req("GET", "/projects", { token: reader })),
  );
  expect(list.items.map((p) => p.slug)).toContain("rest");

  // import: the body is streamed in small pieces
  const file = fs.readFileSync(path.join(FIXTURES, "trl.jsonl"));
  const pieces = Array.from({ length: Math.ceil(file.length / 64) }, (_, i) =>
    file.subarray(i * 64, (i + 1) * 64),
  );
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      const next = pieces.shift();
      if (next) c.enqueue(new Uint8Array(next));
      else c.close();
    },
  });
  const imp = await api.importHandler(
    req("POST", "/projects/rest/import?fileName=trl.jsonl", {
      token: admin,
      body,
      headers: { "content-type": "application/x-ndjson", "content-length": String(file.length) },
    }),
  );
  expect(imp.status).toBe(200);
  const result = await json<{
    jobId: string;
    status: string;
    report: { valid: number; added: { pairs: number } };
  }>(imp);
  expect(result).toMatchObject({ status: "succeeded", report: { valid: 5, added: { pairs: 5 } } });
  const job = await json(
    await api.getImportHandler(req("GET", `/imports/${result.jobId}`, { token: admin })),
  );
  expect(job).toMatchObject({
    status: "succeeded",
    fileName: "trl.jsonl",
    bytesTotal: file.length,
    bytesDone: file.length,
    fraction: 1,
  });
  const jobs = await json<{ items: unknown[] }>(
    await api.listImportsHandler(req("GET", "/projects/rest/imports", { token: admin })),
  );
  expect(jobs.items).toHaveLength(1);

  const notJson = await api.importHandler(
    req("POST", "/projects/rest/import", { token: admin, body: "this is,a csv\n1,2\n" }),
  );
  expect(notJson.status).toBe(422);
  expect(await json(notJson)).toMatchObject({
    error: { code: "bad_request", message: expect.stringMatching(/not JSON/) },
    status: "failed",
  });

  // export: streamed JSON Lines, the same rows
  const exp = await api.exportHandler(req("GET", "/projects/rest/export?format=trl", { token: admin }));
  expect(exp.status).toBe(200);
  expect(exp.headers.get("content-type")).toMatch(/application\/x-ndjson/);
  expect(exp.headers.get("content-disposition")).toBe('attachment; filename="rest-trl.jsonl"');
  const rows = (await exp.text())
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const input = file
    .toString()
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const key = (r: Record<string, unknown>) => JSON.stringify([r.prompt, r.chosen, r.rejected]);
  expect(rows.map(key).sort()).toEqual(input.map(key).sort());
  const badExport = await api.exportHandler(req("GET", "/projects/rest/export?format=csv", { token: admin }));
  expect(badExport.status).toBe(400);
  const noProject = await api.exportHandler(req("GET", "/projects/nope/export", { token: admin }));
  expect(noProject.status).toBe(404);
  expect(
    (await api.exportHandler(req("GET", "/projects/rest/export?origin=human,ai", { token: admin }))).status,
  ).toBe(200);

  // a comparison created by API, idempotent by content
  const cmpBody = {
    prompt: [{ role: "user", content: "Pick one" }],
    completions: ["left", { text: "right", model: "m-right" }],
  };
  const c1 = await api.createComparisonHandler(
    req("POST", "/projects/rest/comparisons", { token: admin, json: cmpBody }),
  );
  expect(c1.status).toBe(201);
  const { comparison } = await json<{
    comparison: {
      id: string;
      status: string;
      completions: Array<{ id: string; text: string; model: string }>;
    };
  }>(c1);
  expect(comparison.status).toBe("open");
  const c2 = await api.createComparisonHandler(
    req("POST", "/projects/rest/comparisons", { token: admin, json: cmpBody }),
  );
  expect(c2.status).toBe(200);
  expect(await json<{ comparison: { id: string }; created: boolean }>(c2)).toMatchObject({
    created: false,
    comparison: { id: comparison.id },
  });
  const three = await api.createComparisonHandler(
    req("POST", "/projects/rest/comparisons", {
      token: admin,
      json: { prompt: "p", completions: ["a", "b", "c"] },
    }),
  );
  expect(three.status).toBe(400);

  // a judgment (the annotator's write token: a member who leased it through the queue), retried
  const ann = await t.prisma.user.findUniqueOrThrow({ where: { email: "ann@example.com" } });
  await t.prisma.projectMember.create({ data: { projectId: project.id, userId: ann.id, role: "annotator" } });
  const leased = await annotationNextHandler(
    req("POST", "/projects/rest/annotation/next", { token: annotatorWrite, json: {} }),
  );
  expect(await json(leased)).toMatchObject({
    kind: "assignment",
    assignment: { comparisonId: comparison.id },
  });
  const right = comparison.completions.find((c) => c.text === "right")!;
  const left = comparison.completions.find((c) => c.text === "left")!;
  const judgment = {
    idempotencyKey: crypto.randomUUID(),
    verdict: { kind: "pairwise", outcome: "win", winnerId: right.id, loserId: left.id, strength: 2 },
    timeSpentMs: 5000,
  };
  const j1 = await api.recordJudgmentHandler(
    req("POST", `/comparisons/${comparison.id}/judgments`, { token: annotatorWrite, json: judgment }),
  );
  expect(j1.status).toBe(201);
  const j1b = await json<{
    created: boolean;
    comparison: { status: string };
    judgment: { id: string; source: string };
  }>(j1);
  expect(j1b).toMatchObject({
    created: true,
    comparison: { status: "complete" },
    judgment: { source: "human" },
  });
  const j2 = await api.recordJudgmentHandler(
    req("POST", `/comparisons/${comparison.id}/judgments`, { token: annotatorWrite, json: judgment }),
  );
  expect(j2.status).toBe(200);
  expect(await json(j2)).toMatchObject({ created: false, judgment: { id: j1b.judgment.id } });
  const adj = await api.recordJudgmentHandler(
    req("POST", `/comparisons/${comparison.id}/judgments`, {
      token: annotatorWrite,
      json: { ...judgment, idempotencyKey: "k2", source: "adjudication" },
    }),
  );
  expect(adj.status).toBe(403);
  const wrong = await api.recordJudgmentHandler(
    req("POST", `/comparisons/${comparison.id}/judgments`, {
      token: annotatorWrite,
      json: {
        ...judgment,
        idempotencyKey: "k3",
        verdict: { kind: "pairwise", outcome: "win", winnerId: "x", loserId: left.id },
      },
    }),
  );
  expect(wrong.status).toBe(400);
  await api.updateProjectHandler(
    req("PATCH", "/projects/rest", {
      token: admin,
      json: { labelSchema: { kind: "pairwise", allowTie: false } },
    }),
  );
  const tie = await api.recordJudgmentHandler(
    req("POST", `/comparisons/${comparison.id}/judgments`, {
      token: annotatorWrite,
      json: { idempotencyKey: "k4", verdict: { kind: "pairwise", outcome: "tie" } },
    }),
  );
  expect(tie.status).toBe(400);
  expect((await json<{ error: { message: string } }>(tie)).error.message).toBe(
    "This project does not allow ties.",
  );
  const js = await json<{ items: unknown[] }>(
    await api.listJudgmentsHandler(req("GET", `/comparisons/${comparison.id}/judgments`, { token: reader })),
  );
  expect(js.items).toHaveLength(1);

  const pairs = await json<{
    items: Array<{ chosenId: string; margin: number; origin: string }>;
    nextCursor: string | null;
  }>(
    await api.listPairsHandler(
      req("GET", `/projects/rest/pairs?comparisonId=${comparison.id}`, { token: admin }),
    ),
  );
  expect(pairs.items).toEqual([expect.objectContaining({ chosenId: right.id, margin: 2, origin: "human" })]);
  const paged = await json<{ items: unknown[]; nextCursor: string }>(
    await api.listPairsHandler(req("GET", "/projects/rest/pairs?limit=4", { token: admin })),
  );
  expect(paged.items).toHaveLength(4);
  const rest = await json<{ items: unknown[]; nextCursor: string | null }>(
    await api.listPairsHandler(
      req("GET", `/projects/rest/pairs?limit=4&cursor=${paged.nextCursor}`, { token: admin }),
    ),
  );
  expect(rest).toMatchObject({ nextCursor: null });
  expect(rest.items).toHaveLength(2);

  // a snapshot, then an export of its validation split
  const snapRes = await api.createSnapshotHandler(
    req("POST", "/projects/rest/snapshots", { token: admin, json: { validationFraction: 0.5, seed: "x" } }),
  );
  expect(snapRes.status).toBe(201);
  const snap = await json<{ id: string; pairCount: number; validationCount: number; hash: string }>(snapRes);
  expect(snap.pairCount).toBe(6);
  expect(
    await json(await api.getSnapshotHandler(req("GET", `/snapshots/${snap.id}`, { token: admin }))),
  ).toMatchObject({ hash: snap.hash, pairCount: 6 });
  const val = await api.exportHandler(
    req("GET", `/projects/rest/export?snapshotId=${snap.id}&split=validation`, { token: admin }),
  );
  const valRows = (await val.text())
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { split: string });
  expect(valRows).toHaveLength(snap.validationCount);
  expect(valRows.every((r) => r.split === "validation")).toBe(true);
});

test("the OpenAPI document covers every route, from the same schemas", async () => {
  const res = await api.getOpenApi(req("GET", "/openapi.json"));
  expect(res.status).toBe(200);
  const doc = await json<{
    openapi: string;
    paths: Record<
      string,
      Record<
        string,
        {
          operationId: string;
          requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown> } }> };
          security?: unknown;
        }
      >
    >;
    components: { securitySchemes: unknown };
  }>(res);
  expect(doc.openapi).toBe("3.1.0");
  const ops = Object.values(doc.paths).flatMap((p) => Object.values(p).map((o) => o.operationId));
  const every = [
    ...Object.values(routes),
    ...Object.values(annotationRoutes),
    ...Object.values(trainingRoutes),
    ...Object.values(memberRoutes),
  ];
  expect(ops.sort()).toEqual(every.map((r) => r.operationId).sort());
  const judge = doc.paths["/api/v1/comparisons/{id}/judgments"]!.post!;
  expect(Object.keys(judge.requestBody!.content["application/json"]!.schema.properties!)).toEqual(
    expect.arrayContaining(["idempotencyKey", "verdict", "source", "supersedesId"]),
  );
  expect(judge.security).toEqual([{ bearerAuth: [] }]);
  expect(Object.keys(doc.paths["/api/v1/projects/{project}/import"]!.post!.requestBody!.content)).toContain(
    "application/x-ndjson",
  );
  expect(JSON.stringify(doc)).not.toMatch(/"\$schema"/);
});
