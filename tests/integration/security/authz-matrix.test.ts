// The authorization matrix (issue 15): every tRPC procedure (enumerated from the app router),
// every REST route (from the route tables) and every page (from app/) called as every kind of
// caller: anonymous; annotator, reviewer and admin sessions; members and non-members of the
// project; API tokens of each scope for each role. What each may do comes from ONE table
// (MATRIX); a procedure, route or page without a row fails the test. Field-level checks: gold
// answers, model names, other people's judgments and judge keys never reach those who may not
// see them.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { TRPCError } from "@trpc/server";
import { createTestDatabase, type TestDatabase } from "../../helpers/db";
import { resetEnvForTests } from "@/server/env";
import { createApiToken, type Scope } from "@/server/auth/tokens";
import { ROLES, type Role } from "@/server/auth/roles";
import { closeAppSql } from "@/server/db/client";
import { appRouter, createCaller } from "@/server/trpc/root";
import { stopBoss } from "@/server/jobs/boss";
import { routes } from "@/server/api/routes";
import { annotationRoutes } from "@/server/api/annotation";
import { trainingRoutes } from "@/server/api/training";
import { memberRoutes } from "@/server/api/members";
import * as rest from "@/server/api/handlers";
import * as loop from "@/server/api/annotation";
import * as training from "@/server/api/training";
import * as members from "@/server/api/members";
import type { RouteDef } from "@/server/api/http";
import { makeProject, makeUser, type ProjectFixture } from "../annotation/fixtures";

// ---------------------------------------------------------------------------------------------
// The one table. `need`: the least role that may call it ("public": anyone). `member`: the caller
// must also be a member of the project it names (admins administer every project). REST rows add
// the token scope; their `call` builds a request whose body fails validation for callers who get
// through, so nothing is written by accident.
type Need = "public" | Role;
interface Fx {
  fx: ProjectFixture;
  slug: string;
  importId: string;
  snapshotId: string;
  roundId: string;
  n: number;
}
interface TrpcRow {
  need: Need;
  member?: boolean;
  input?: (f: Fx) => unknown;
}
interface RestRow {
  need: Need;
  scope: Scope | null;
  member?: boolean;
  call: (f: Fx) => { path: string; json?: unknown };
}
interface PageRow {
  need: Need;
  member?: boolean;
}

const BAD = { __matrix: 1, project: 7 }; // fails every procedure's input schema that has one
const badJson = { __matrix: 1 };

export const MATRIX: {
  trpc: Record<string, TrpcRow>;
  rest: Record<string, RestRow>;
  pages: Record<string, PageRow>;
} = {
  trpc: {
    "system.me": { need: "annotator" },
    "system.health": { need: "admin" },
    "annotation.projects": { need: "annotator" },
    "annotation.project": { need: "annotator", member: true, input: (f) => ({ project: f.slug }) },
    "annotation.next": { need: "annotator", member: true, input: (f) => ({ projectId: f.fx.projectId }) },
    "annotation.heartbeat": { need: "annotator" },
    "annotation.resume": { need: "annotator" },
    "annotation.skip": { need: "annotator" },
    "annotation.flag": { need: "annotator" },
    "annotation.submit": { need: "annotator" },
    "annotation.progress": { need: "annotator" },
    "invite.info": { need: "public" },
    "invite.accept": { need: "public" },
    "review.queue": { need: "reviewer" },
    "review.item": {
      need: "reviewer",
      member: true,
      input: (f) => ({ comparisonId: f.fx.comparisonIds[0] }),
    },
    "review.adjudicate": {
      need: "reviewer",
      member: true,
      input: (f) => ({
        comparisonId: f.fx.comparisonIds[1],
        idempotencyKey: `matrix-adj-${f.n++}`,
        answer: { kind: "pairwise", choice: "A", strength: 1 },
      }),
    },
    "review.reopen": {
      need: "reviewer",
      member: true,
      input: (f) => ({ comparisonId: f.fx.comparisonIds[0] }),
    },
    ...Object.fromEntries(
      [
        "admin.projects",
        "admin.project",
        "admin.createProject",
        "admin.updateProject",
        "admin.people",
        "admin.invites",
        "admin.createInvite",
        "admin.revokeInvite",
        "admin.setRole",
        "admin.setActive",
        "admin.members",
        "admin.setMember",
        "admin.removeMember",
        "admin.audit",
        "admin.summaries",
        "admin.dashboard",
        "admin.queueImport",
        "admin.importJob",
        "admin.importJobs",
        "admin.exportEstimate",
        "admin.leaderboard",
        "judges.rubrics",
        "judges.configs",
        "judges.config",
        "judges.createConfig",
        "judges.updateConfig",
        "judges.runs",
        "judges.run",
        "judges.startRun",
        "judges.pauseRun",
        "judges.resumeRun",
        "judges.cancelRun",
        "judges.agreement",
        "judges.generate",
        "judges.generationJob",
        "training.projects",
        "training.overview",
        "training.round",
        "training.runNow",
        "training.retry",
        "training.cancel",
        "training.updateSettings",
        "training.provenance",
        "training.playground",
        "training.rollouts",
        "training.preflight",
      ].map((k) => [k, { need: "admin" } satisfies TrpcRow]),
    ),
  },
  rest: {
    openapi: { need: "public", scope: null, call: () => ({ path: "/openapi.json" }) },
    listProjects: { need: "annotator", scope: "read", call: () => ({ path: "/projects" }) },
    createProject: { need: "admin", scope: "admin", call: () => ({ path: "/projects", json: badJson }) },
    getProject: {
      need: "annotator",
      scope: "read",
      member: true,
      call: (f) => ({ path: `/projects/${f.slug}` }),
    },
    updateProject: {
      need: "admin",
      scope: "admin",
      member: true,
      call: (f) => ({ path: `/projects/${f.slug}`, json: { overlap: "x" } }),
    },
    importData: {
      need: "admin",
      scope: "write",
      member: true,
      call: (f) => ({ path: `/projects/${f.slug}/import` }),
    },
    listImports: {
      need: "reviewer",
      scope: "read",
      member: true,
      call: (f) => ({ path: `/projects/${f.slug}/imports` }),
    },
    getImport: {
      need: "reviewer",
      scope: "read",
      member: true,
      call: (f) => ({ path: `/imports/${f.importId}` }),
    },
    exportData: {
      need: "reviewer",
      scope: "read",
      member: true,
      call: (f) => ({ path: `/projects/${f.slug}/export?format=nope` }),
    },
    listComparisons: {
      need: "annotator",
      scope: "read",
      member: true,
      call: (f) => ({ path: `/projects/${f.slug}/comparisons` }),
    },
    createComparison: {
      need: "admin",
      scope: "write",
      member: true,
      call: (f) => ({ path: `/projects/${f.slug}/comparisons`, json: badJson }),
    },
    getComparison: {
      need: "annotator",
      scope: "read",
      member: true,
      call: (f) => ({ path: `/comparisons/${f.fx.goldIds[0]}` }),
    },
    listJudgments: {
      need: "annotator",
      scope: "read",
      member: true,
      call: (f) => ({ path: `/comparisons/${f.fx.comparisonIds[0]}/judgments` }),
    },
    recordJudgment: {
      need: "annotator",
      scope: "write",
      member: true,
      call: (f) => ({ path: `/comparisons/${f.fx.comparisonIds[0]}/judgments`, json: badJson }),
    },
    listPairs: {
      need: "reviewer",
      scope: "read",
      member: true,
      call: (f) => ({ path: `/projects/${f.slug}/pairs` }),
    },
    createSnapshot: {
      need: "admin",
      scope: "write",
      member: true,
      call: (f) => ({ path: `/projects/${f.slug}/snapshots`, json: { minAgreement: 7 } }),
    },
    getSnapshot: {
      need: "reviewer",
      scope: "read",
      member: true,
      call: (f) => ({ path: `/snapshots/${f.snapshotId}` }),
    },
    annotationNext: {
      need: "annotator",
      scope: "write",
      member: true,
      call: (f) => ({ path: `/projects/${f.slug}/annotation/next`, json: {} }),
    },
    annotationSubmit: {
      need: "annotator",
      scope: "write",
      call: () => ({ path: "/annotation/submit", json: badJson }),
    },
    annotationHeartbeat: {
      need: "annotator",
      scope: "write",
      call: () => ({ path: "/annotation/heartbeat", json: badJson }),
    },
    annotationSkip: {
      need: "annotator",
      scope: "write",
      call: () => ({ path: "/annotation/skip", json: badJson }),
    },
    startRound: {
      need: "admin",
      scope: "write",
      member: true,
      call: (f) => ({ path: `/projects/${f.slug}/rounds`, json: { overrides: "x" } }),
    },
    roundPlan: {
      need: "admin",
      scope: "read",
      member: true,
      call: (f) => ({ path: `/projects/${f.slug}/rounds/plan` }),
    },
    listRounds: {
      need: "reviewer",
      scope: "read",
      member: true,
      call: (f) => ({ path: `/projects/${f.slug}/rounds` }),
    },
    getRound: {
      need: "reviewer",
      scope: "read",
      member: true,
      call: (f) => ({ path: `/rounds/${f.roundId}` }),
    },
    listMembers: {
      need: "admin",
      scope: "read",
      member: true,
      call: (f) => ({ path: `/projects/${f.slug}/members` }),
    },
    setMember: {
      need: "admin",
      scope: "admin",
      member: true,
      call: (f) => ({ path: `/projects/${f.slug}/members`, json: badJson }),
    },
    removeMember: {
      need: "admin",
      scope: "admin",
      member: true,
      call: (f) => ({ path: `/projects/${f.slug}/members/nobody@example.com` }),
    },
  },
  // Pages and the UI's own route handlers, by file under app/ (checked statically below: Next's
  // server components need the Next runtime; tests/e2e drives them in a browser).
  pages: {
    "app/page.tsx": { need: "annotator" },
    "app/login/page.tsx": { need: "public" },
    "app/invite/[token]/page.tsx": { need: "public" },
    "app/annotate/page.tsx": { need: "annotator" },
    "app/annotate/[project]/page.tsx": { need: "annotator", member: true },
    "app/review/page.tsx": { need: "reviewer", member: true },
    "app/review/[comparisonId]/page.tsx": { need: "reviewer", member: true },
    "app/admin/page.tsx": { need: "admin" },
    "app/admin/people/page.tsx": { need: "admin" },
    "app/admin/audit/page.tsx": { need: "admin" },
    "app/admin/audit/export/route.ts": { need: "admin" },
    "app/admin/data/page.tsx": { need: "admin" },
    "app/admin/data/export/route.ts": { need: "admin" },
    "app/admin/data/import/route.ts": { need: "admin" },
    "app/admin/health/page.tsx": { need: "admin" },
    "app/admin/judges/page.tsx": { need: "admin" },
    "app/admin/training/page.tsx": { need: "admin" },
    "app/admin/projects/new/page.tsx": { need: "admin" },
    "app/admin/projects/[project]/page.tsx": { need: "admin" },
    "app/admin/projects/[project]/dashboard/page.tsx": { need: "admin" },
  },
};

// The REST handlers by operationId (what app/api/v1/**/route.ts re-exports).
const HANDLERS: Record<string, (req: Request) => Promise<Response>> = {
  openapi: rest.getOpenApi,
  listProjects: rest.listProjectsHandler,
  createProject: rest.createProjectHandler,
  getProject: rest.getProjectHandler,
  updateProject: rest.updateProjectHandler,
  importData: rest.importHandler,
  listImports: rest.listImportsHandler,
  getImport: rest.getImportHandler,
  exportData: rest.exportHandler,
  listComparisons: rest.listComparisonsHandler,
  createComparison: rest.createComparisonHandler,
  getComparison: rest.getComparisonHandler,
  listJudgments: rest.listJudgmentsHandler,
  recordJudgment: rest.recordJudgmentHandler,
  listPairs: rest.listPairsHandler,
  createSnapshot: rest.createSnapshotHandler,
  getSnapshot: rest.getSnapshotHandler,
  annotationNext: loop.annotationNextHandler,
  annotationSubmit: loop.annotationSubmitHandler,
  annotationHeartbeat: loop.annotationHeartbeatHandler,
  annotationSkip: loop.annotationSkipHandler,
  startRound: training.startRoundHandler,
  roundPlan: training.roundPlanHandler,
  listRounds: training.listRoundsHandler,
  getRound: training.getRoundHandler,
  listMembers: members.listMembersHandler,
  setMember: members.setMemberHandler,
  removeMember: members.removeMemberHandler,
};
const ALL_ROUTES: Record<string, RouteDef> = {
  ...routes,
  ...annotationRoutes,
  ...trainingRoutes,
  ...memberRoutes,
};

// ---------------------------------------------------------------------------------------------
// The callers.
interface Caller {
  name: string;
  kind: "anon" | "session" | "token";
  role?: Role;
  member: boolean;
  scopes?: Scope[];
  user?: { id: string; email: string; name: string; role: Role };
  token?: string;
}
const rank = (r: Need) => (r === "public" ? -1 : ROLES.indexOf(r));
const scopeRank = (s: Scope) => ["read", "write", "admin"].indexOf(s);
const hasScope = (scopes: Scope[], needed: Scope) => scopes.some((s) => scopeRank(s) >= scopeRank(needed));

const SECRET_KEY = "sk-matrix-judge-key-5f1e2d3c4b5a";
const OTHERS_RATIONALE = "OTHERS-RATIONALE-do-not-show";
let t: TestDatabase;
let f: Fx;
const callers: Caller[] = [];

beforeAll(async () => {
  process.env.PAIRWISE_ENCRYPTION_KEY = "test-encryption-key-0123456789abcdef-xyz";
  resetEnvForTests();
  t = await createTestDatabase();
  const people: Record<string, Caller["user"]> = {};
  for (const [name, role] of [
    ["annotatorMember", "annotator"],
    ["annotatorOutsider", "annotator"],
    ["reviewerMember", "reviewer"],
    ["reviewerOutsider", "reviewer"],
    ["admin", "admin"],
    ["other", "annotator"],
  ] as const) {
    const u = await makeUser(t.prisma, name, role);
    people[name] = { id: u.id, email: u.email, name: u.name, role };
  }
  // makeProject adds every non-admin user; the outsiders are then taken out.
  const fx = await makeProject(t.prisma, { comparisons: 3, gold: 1, overlap: 2 });
  await t.prisma.projectMember.deleteMany({
    where: { userId: { in: [people.annotatorOutsider!.id, people.reviewerOutsider!.id] } },
  });
  const project = await t.prisma.project.findUniqueOrThrow({ where: { id: fx.projectId } });
  // Someone else's judgment, with a rationale nobody else but reviewers may read.
  const ids = fx.completions.get(fx.comparisonIds[0]!)!;
  await t.prisma.judgment.create({
    data: {
      idempotencyKey: "others-judgment",
      projectId: fx.projectId,
      comparisonId: fx.comparisonIds[0]!,
      source: "human",
      userId: people.other!.id,
      verdict: { kind: "pairwise", outcome: "win", winnerId: ids[0]!, loserId: ids[1]!, strength: 1 },
      rationale: OTHERS_RATIONALE,
    },
  });
  const imp = await t.prisma.importJob.create({ data: { projectId: fx.projectId, status: "succeeded" } });
  const snap = await t.prisma.datasetSnapshot.create({
    data: { projectId: fx.projectId, hash: "h", pairCount: 0 },
  });
  const round = await t.prisma.trainingRound.create({
    data: { projectId: fx.projectId, number: 1, trigger: "manual" },
  });
  // A judge with a key: no response may ever carry it.
  await createCaller({ user: people.admin!, scopes: null }).judges.createConfig({
    name: "Matrix judge",
    kind: "llm",
    project: project.slug,
    baseUrl: "http://127.0.0.1:9/v1",
    model: "m",
    apiKey: SECRET_KEY,
  });
  f = { fx, slug: project.slug, importId: imp.id, snapshotId: snap.id, roundId: round.id, n: 0 };

  callers.push({ name: "anonymous", kind: "anon", member: false });
  for (const [name, u] of Object.entries(people)) {
    if (name === "other") continue;
    callers.push({
      name: `session:${name}`,
      kind: "session",
      role: u!.role,
      member: !name.endsWith("Outsider"),
      user: u,
    });
  }
  for (const who of ["annotatorMember", "reviewerMember", "admin", "annotatorOutsider", "reviewerOutsider"]) {
    const u = people[who]!;
    for (const scope of ["read", "write", "admin"] as Scope[]) {
      if (who.endsWith("Outsider") && scope === "admin") continue;
      const { token } = await createApiToken({ userId: u.id, name: `${who}-${scope}`, scopes: [scope] });
      callers.push({
        name: `token:${who}:${scope}`,
        kind: "token",
        role: u.role,
        member: !who.endsWith("Outsider"),
        scopes: [scope],
        user: u,
        token,
      });
    }
  }
}, 300_000);
afterAll(async () => {
  await stopBoss();
  await closeAppSql();
  await t?.close();
});

/** Whether the caller may pass the row's guard (role, token scope, membership). */
function allowed(c: Caller, need: Need, member: boolean | undefined, scope: Scope | null): boolean {
  if (need === "public") return true;
  if (c.kind === "anon") return false;
  if (rank(c.role!) < rank(need)) return false;
  if (c.kind === "token" && scope && !hasScope(c.scopes!, scope)) return false;
  if (member && !c.member && c.role !== "admin") return false;
  return true;
}

// Field-level: what an annotator (or an outsider) must never receive.
function checkFields(c: Caller, where: string, text: string) {
  expect(text, `${where} as ${c.name}: judge key`).not.toContain(SECRET_KEY);
  if (c.role === "admin" || (c.role === "reviewer" && c.member)) return;
  expect(text, `${where} as ${c.name}: model names`).not.toMatch(/model-x|model-y/);
  expect(text, `${where} as ${c.name}: others' rationale`).not.toContain(OTHERS_RATIONALE);
  expect(text, `${where} as ${c.name}: gold answer`).not.toMatch(/"goldAnswer":\{/);
  expect(text, `${where} as ${c.name}: gold flag`).not.toMatch(/"isGold":true/);
}

describe("every tRPC procedure", () => {
  const procedures = (appRouter._def as unknown as { procedures: Record<string, { _def: { type: string } }> })
    .procedures;

  test("has a row in the table (and every row a procedure)", () => {
    expect(Object.keys(MATRIX.trpc).sort()).toEqual(Object.keys(procedures).sort());
  });

  test("answers each kind of caller as the table says", async () => {
    const failures: string[] = [];
    for (const [name, row] of Object.entries(MATRIX.trpc)) {
      const type = procedures[name]?._def.type;
      // The scope a token needs for a role-guarded procedure (server/trpc/init.ts).
      const scope: Scope = row.need === "admin" ? "admin" : type === "mutation" ? "write" : "read";
      for (const c of callers) {
        const caller = createCaller({
          user: c.kind === "anon" ? null : c.user!,
          scopes: c.kind === "token" ? c.scopes! : null,
        });
        const fn = name.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], caller) as (
          i: unknown,
        ) => Promise<unknown>;
        let code = "OK";
        let out: unknown;
        try {
          out = await fn(row.input ? row.input(f) : BAD);
        } catch (e) {
          code = e instanceof TRPCError ? e.code : `THREW ${(e as Error).message}`;
        }
        const denied = code === "UNAUTHORIZED" || code === "FORBIDDEN";
        const expectOk = allowed(c, row.need, row.member, scope);
        const expectCode = c.kind === "anon" ? "UNAUTHORIZED" : "FORBIDDEN";
        if (expectOk ? denied : code !== expectCode)
          failures.push(`${name} as ${c.name}: expected ${expectOk ? "allowed" : expectCode}, got ${code}`);
        if (out !== undefined) checkFields(c, name, JSON.stringify(out));
      }
    }
    expect(failures).toEqual([]);
  }, 600_000);

  test("lists show non-members nothing of the project", async () => {
    for (const c of callers.filter((x) => x.kind === "session" && !x.member)) {
      const s = createCaller({ user: c.user!, scopes: null });
      expect((await s.annotation.projects()).map((p) => p.id)).not.toContain(f.fx.projectId);
      if (c.role === "reviewer") {
        const q = await s.review.queue();
        expect(q.items.map((i) => i.project.id)).not.toContain(f.fx.projectId);
      }
    }
  });
});

describe("every REST route", () => {
  test("has a row and a handler (and every row a route)", () => {
    expect(Object.keys(MATRIX.rest).sort()).toEqual(Object.keys(ALL_ROUTES).sort());
    expect(Object.keys(HANDLERS).sort()).toEqual(Object.keys(ALL_ROUTES).sort());
  });

  test("answers each kind of caller as the table says", async () => {
    const failures: string[] = [];
    for (const [op, row] of Object.entries(MATRIX.rest)) {
      const route = ALL_ROUTES[op]!;
      for (const c of callers) {
        const { path: p, json } = row.call(f);
        const headers: Record<string, string> = {};
        if (c.kind === "token") headers.authorization = `Bearer ${c.token}`;
        if (json !== undefined) headers["content-type"] = "application/json";
        const res = await HANDLERS[op]!(
          new Request(`http://pairwise.test/api/v1${p}`, {
            method: route.method,
            headers,
            body: json === undefined ? undefined : JSON.stringify(json),
          }),
        );
        const text = await res.text();
        // Sessions do not reach the REST API (tokens only): 401 like anonymous callers.
        const expectOk =
          allowed(c, row.need, row.member, row.scope) && (row.scope === null || c.kind !== "session");
        const expectStatus = c.kind === "token" ? 403 : 401;
        const got = res.status;
        if (expectOk ? got === 401 || got === 403 : got !== expectStatus)
          failures.push(
            `${op} as ${c.name}: expected ${expectOk ? "allowed" : expectStatus}, got ${got} ${text.slice(0, 120)}`,
          );
        // (The OpenAPI document describes the fields; it holds no data.)
        if (got < 300 && op !== "openapi") checkFields(c, op, text);
      }
    }
    expect(failures).toEqual([]);
  }, 600_000);
});

describe("every page", () => {
  const files = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
      const p = path.join(dir, d.name);
      return d.isDirectory() ? files(p) : [p];
    });
  const root = path.resolve(import.meta.dirname, "../../..");
  const pages = files(path.join(root, "app"))
    .map((p) => path.relative(root, p))
    .filter((p) => /\/(page\.tsx|route\.ts)$/.test(p) && !p.startsWith("app/api/"));

  test("has a row in the table (and every row a page)", () => {
    expect(Object.keys(MATRIX.pages).sort()).toEqual(pages.sort());
  });

  test("checks the table's role, and membership where the table says so", () => {
    for (const [file, row] of Object.entries(MATRIX.pages)) {
      const src = fs.readFileSync(path.join(root, file), "utf8");
      const guards = [...src.matchAll(/requirePageUser\(\s*"(\w+)"[,)\s]|hasRole\(user, "(\w+)"\)/g)].map(
        (m) => m[1] ?? m[2],
      );
      // The first guard is the gate (later ones only choose what to show).
      if (row.need === "public") expect(guards, file).toEqual([]);
      else expect(guards[0], file).toBe(row.need);
      if (row.member) expect(src, file).toMatch(/projectRole\(|projectIdsWithRole\(/);
    }
  });
});
