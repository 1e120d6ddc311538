// Malformed input never answers 500 and never writes: every REST route (found by walking
// app/api/v1/**/route.ts, so a new route is covered without a new line here) and every tRPC
// procedure (from the router) gets NUL characters, lone surrogates, invalid %-encoding in path
// ids and in `cursor`/`snapshotId`, and JSON nested 5,000 deep, as fixed examples and as
// fast-check-generated inputs. Each answer must be a 4xx with a reason; the rows of every table
// are counted before and after.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import fc from "fast-check";
import { createTestDatabase, type TestDatabase } from "../helpers/db";
import { makeProject, makeUser } from "./annotation/fixtures";
import { createApiToken } from "@/server/auth/tokens";
import { appRouter } from "@/server/trpc/root";

const ROOT = path.resolve(import.meta.dirname, "../..");
const BASE = "http://pairwise.test";
type Handler = (req: Request) => Promise<Response>;

let t: TestDatabase;
let admin: string;
let annotator: string;
let projectSlug: string;
let comparisonId: string;

interface RestRoute {
  file: string;
  /** e.g. /api/v1/projects/[project]/comparisons */
  template: string;
  methods: Partial<Record<"GET" | "POST" | "PATCH" | "DELETE", Handler>>;
}
const restRoutes: RestRoute[] = [];
const jsonRoutes: { method: string; url: string; h: Handler }[] = [];

function findRouteFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? findRouteFiles(p) : e.name === "route.ts" ? [p] : [];
  });
}

beforeAll(async () => {
  t = await createTestDatabase();
  const a = await makeUser(t.prisma, "Admin", "admin");
  const n = await makeUser(t.prisma, "Ann", "annotator");
  admin = (await createApiToken({ userId: a.id, name: "admin", scopes: ["admin"] })).token;
  annotator = (await createApiToken({ userId: n.id, name: "ann", scopes: ["write"] })).token;
  const fx = await makeProject(t.prisma, { comparisons: 3 });
  projectSlug = (await t.prisma.project.findUniqueOrThrow({ where: { id: fx.projectId } })).slug;
  comparisonId = fx.comparisonIds[0]!;
  for (const file of findRouteFiles(path.join(ROOT, "app/api/v1"))) {
    const mod = (await import(file)) as Record<string, unknown>;
    const methods: RestRoute["methods"] = {};
    for (const m of ["GET", "POST", "PATCH", "DELETE"] as const)
      if (typeof mod[m] === "function") methods[m] = mod[m] as Handler;
    const template =
      "/" + path.relative(path.join(ROOT, "app"), path.dirname(file)).split(path.sep).join("/");
    restRoutes.push({ file, template, methods });
  }
  // The routes that read a JSON body: those answering "not valid JSON" to a broken one.
  for (const r of restRoutes)
    for (const [method, h] of Object.entries(r.methods)) {
      if (method !== "POST" && method !== "PATCH") continue;
      const res = await h(request(method, fill(r.template), admin, "{broken"));
      if (res.status === 400 && /not valid JSON/.test(await res.text()))
        jsonRoutes.push({ method, url: fill(r.template), h });
    }
}, 180_000);
afterAll(async () => t?.close());

const TABLES = [
  "User",
  "ApiToken",
  "Project",
  "Prompt",
  "Completion",
  "Comparison",
  "Assignment",
  "Judgment",
  "PreferencePair",
  "DatasetSnapshot",
  "TrainingRound",
  "JudgeConfig",
  "JudgeRun",
  "Invite",
];
async function counts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const tb of TABLES) {
    const rows = await t.prisma.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM "${tb}"`);
    out[tb] = Number(rows[0]!.n);
  }
  return out;
}

/** A valid value for each path parameter, so the malformed part is the only thing wrong. */
function fill(template: string, override?: { name: string; raw: string }): string {
  return template.replace(/\[(\w+)\]/g, (_, name: string) => {
    if (override?.name === name) return override.raw;
    return name === "project" ? projectSlug : comparisonId;
  });
}

const BAD_SEGMENTS = ["%00", "abc%00", "%E0%A4%A", "%ED%A0%80", "%", "%zz", "a%C0%AFb"];
const BAD_QUERIES = [
  "cursor=%00",
  "cursor=%E0%A4%A",
  "snapshotId=%00",
  "snapshotId=abc%00def",
  "limit=%00",
  "format=%00",
  "fileName=%00",
];
const deep = (n: number) => '{"a":'.repeat(n) + "1" + "}".repeat(n);
const BAD_BODIES = [
  '{"idempotencyKey":"k\\u0000","verdict":{"outcome":"a"}}',
  '{"idempotencyKey":"k1","assignmentId":"\\ud800","verdict":{"outcome":"a"}}',
  '{"assignmentId":"x\\u0000"}',
  '{"name":"\\udc00","slug":"ok-slug"}',
  '{"rationale":"fine","metadata":{"\\u0000":1}}',
  deep(5000),
  "[".repeat(5000) + "]".repeat(5000),
  deep(100),
];

async function expectRefused(res: Response, what: string) {
  const text = await res.text();
  expect(res.status, `${what}: ${text.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
  expect(res.status, `${what}: ${text.slice(0, 300)}`).toBeLessThan(500);
  expect(text.length, what).toBeGreaterThan(0);
}

function request(method: string, url: string, token: string, body?: string): Request {
  return new Request(`${BASE}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: method === "GET" || method === "DELETE" ? undefined : (body ?? "{}"),
  });
}

describe("REST: every route under /api/v1", () => {
  test("the route files were found", () => {
    expect(restRoutes.length).toBeGreaterThanOrEqual(15);
  });

  test("bad path ids, bad query strings and bad bodies: 4xx with a reason, nothing written", async () => {
    const before = await counts();
    let calls = 0;
    for (const r of restRoutes) {
      for (const [method, h] of Object.entries(r.methods)) {
        for (const token of [admin, annotator]) {
          for (const name of [...r.template.matchAll(/\[(\w+)\]/g)].map((m) => m[1]!)) {
            for (const raw of BAD_SEGMENTS) {
              const url = fill(r.template, { name, raw });
              await expectRefused(await h(request(method, url, token)), `${method} ${url}`);
              calls++;
            }
          }
          if (token !== admin) continue;
          for (const q of BAD_QUERIES) {
            const url = `${fill(r.template)}?${q}`;
            await expectRefused(await h(request(method, url, token, BAD_BODIES[0])), `${method} ${url}`);
            calls++;
          }
          if (jsonRoutes.some((j) => j.h === h)) {
            for (const body of BAD_BODIES) {
              const url = fill(r.template);
              await expectRefused(
                await h(request(method, url, token, body)),
                `${method} ${url} ${body.slice(0, 60)}`,
              );
              calls++;
            }
          }
        }
      }
    }
    expect(calls).toBeGreaterThan(200);
    expect(await counts()).toEqual(before);
  });

  test("fast-check: bodies holding an unstorable string anywhere are refused on every JSON route", async () => {
    const nastyString = fc
      .tuple(fc.string(), fc.constantFrom("\u0000", "\ud800", "\udfff", "\ude00x"), fc.string())
      .map(([a, b, c]) => a + b + c);
    const bodyWith = fc
      .tuple(
        fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }),
        fc.constantFrom("idempotencyKey", "assignmentId", "name", "rationale", "verdict", "metadata", "x"),
        nastyString,
        fc.boolean(),
      )
      .map(([obj, key, bad, asKey]) => JSON.stringify(asKey ? { ...obj, [bad]: 1 } : { ...obj, [key]: bad }));
    expect(jsonRoutes.length).toBeGreaterThanOrEqual(8);
    const before = await counts();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...jsonRoutes), bodyWith, async (route, body) => {
        const res = await route.h(request(route.method, route.url, admin, body));
        expect(res.status, `${route.method} ${route.url} ${body}`).toBe(400);
        const out = (await res.json()) as { error: { code: string; message: string } };
        expect(out.error.code).toBe("bad_request");
        expect(out.error.message).toMatch(/NUL|surrogate/);
      }),
      { numRuns: 150 },
    );
    expect(await counts()).toEqual(before);
  });

  test("fast-check: any path id answers 4xx or a success, never 500", async () => {
    const segment = fc.oneof(
      fc.string({ unit: "binary" }).map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, "x"))),
      fc.string({ unit: fc.constantFrom("%", "0", "e", "D", "8", "A", "x", "%00", "%ED%A0%80", "%C3") }),
    );
    // routes with a named path parameter (the catch-all [...path] for unknown paths has none)
    const getRoutes = restRoutes.filter((r) => r.methods.GET && /\[\w+\]/.test(r.template));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...getRoutes), segment, async (r, raw) => {
        const name = /\[(\w+)\]/.exec(r.template)![1]!;
        const res = await r.methods.GET!(request("GET", fill(r.template, { name, raw }), admin));
        expect(res.status, `${r.template} ${raw}`).toBeLessThan(500);
      }),
      { numRuns: 150 },
    );
  });

  test("import lines with NUL, surrogates and deep nesting are reported per line, not a 500", async () => {
    const route = restRoutes.find((r) => r.template.endsWith("/[project]/import"))!;
    const lines = [
      '{"prompt":"ok one","chosen":"a","rejected":"b"}',
      '{"prompt":"x\\u0000","chosen":"a","rejected":"b"}',
      '{"prompt":"y","chosen":"\\ud800","rejected":"b"}',
      '{"prompt":"z","chosen":"a","rejected":"b","chosen_model":"m\\u0000"}',
      '{"prompt":"w","chosen":"a","rejected":"b","metadata":{"k":"\\u0000"}}',
      deep(5000),
    ].join("\n");
    const res = await route.methods.POST!(
      new Request(`${BASE}${fill(route.template)}`, {
        method: "POST",
        headers: { authorization: `Bearer ${admin}`, "content-type": "application/x-ndjson" },
        body: lines,
      }),
    );
    expect(res.status).toBe(200);
    const out = (await res.json()) as {
      report: { valid: number; invalid: number; errors: { line: number }[] };
    };
    expect(out.report.valid).toBe(1);
    expect(out.report.invalid).toBe(5);
    expect(out.report.errors.map((e) => e.line).sort()).toEqual([2, 3, 4, 5, 6]);
  });
});

describe("tRPC: every procedure", () => {
  let trpc: Handler;
  beforeAll(async () => {
    trpc = ((await import("@/app/api/trpc/[trpc]/route")) as { POST: Handler }).POST;
  });

  const procedures = () =>
    Object.entries(
      (appRouter as unknown as { _def: { procedures: Record<string, { _def: { type: string } }> } })._def
        .procedures,
    );

  test("NUL, surrogates and deep nesting: 400 with a reason for every procedure, nothing written", async () => {
    const before = await counts();
    const inputs = [
      { json: { id: "a\u0000b" } },
      { json: { project: "\ud800" } },
      { json: { name: "x", nested: { deeper: ["\udc00"] } } },
    ];
    let n = 0;
    for (const [name, proc] of procedures()) {
      for (const input of inputs) {
        const body = JSON.stringify(input);
        const method = proc._def.type === "query" ? "GET" : "POST";
        const url =
          method === "GET" ? `/api/trpc/${name}?input=${encodeURIComponent(body)}` : `/api/trpc/${name}`;
        const res = await trpc(request(method === "GET" ? "GET" : "POST", url, admin, body));
        await expectRefused(res, `${name} ${body}`);
        n++;
      }
      const res = await trpc(request("POST", `/api/trpc/${name}`, admin, `{"json":${deep(5000)}}`));
      await expectRefused(res, `${name} deep`);
      const q = await trpc(request("GET", `/api/trpc/${name}?input=%7B%22json%22%3A%22%00%22%7D`, admin));
      await expectRefused(q, `${name} %00`);
    }
    expect(n).toBeGreaterThan(30);
    expect(await counts()).toEqual(before);
  });
});
