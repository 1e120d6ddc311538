// Project membership (issue 15, item 8): people work only on the projects they are members of,
// as the lower of their account and project roles, in tRPC, REST and the queue; admins manage
// members on the People page, the CLI and REST; every change is audited.
import { PassThrough, Readable } from "node:stream";
import { afterAll, beforeAll, expect, test } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../helpers/db";
import { createApiToken } from "@/server/auth/tokens";
import { closeAppSql } from "@/server/db/client";
import { createCaller } from "@/server/trpc/root";
import * as loop from "@/server/api/annotation";
import * as api from "@/server/api/handlers";
import * as members from "@/server/api/members";
import { forgetMemberships } from "@/server/auth/access";
import { main } from "@/server/cli/index";
import { makeProject, makeUser } from "../annotation/fixtures";

const BASE = "http://pairwise.test/api/v1";
let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await closeAppSql();
  await t?.close();
});

const req = (method: string, url: string, token: string, json?: unknown) =>
  new Request(`${BASE}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
const session = (u: { id: string; email: string; name: string; role: "annotator" | "reviewer" | "admin" }) =>
  createCaller({ user: { id: u.id, email: u.email, name: u.name, role: u.role }, scopes: null });

test("non-members are refused everywhere; members get in; removal ends their leases", async () => {
  const fx = await makeProject(t.prisma, { comparisons: 2, overlap: 1 });
  const p = await t.prisma.project.findUniqueOrThrow({ where: { id: fx.projectId } });
  // Created after the project: no membership (makeUser adds rows only for projects that exist).
  await t.prisma.projectMember.deleteMany({ where: { projectId: p.id } });
  const ann = await makeUser(t.prisma, "Outsider");
  await t.prisma.projectMember.deleteMany({ where: { userId: ann.id } });
  const admin = await makeUser(t.prisma, "Boss", "admin");
  const { token } = await createApiToken({ userId: ann.id, name: "a", scopes: ["write"] });
  const { token: adminToken } = await createApiToken({ userId: admin.id, name: "b", scopes: ["admin"] });

  // REST
  expect(
    (await loop.annotationNextHandler(req("POST", `/projects/${p.slug}/annotation/next`, token, {}))).status,
  ).toBe(403);
  expect((await api.getProjectHandler(req("GET", `/projects/${p.slug}`, token))).status).toBe(403);
  expect(
    (await api.getComparisonHandler(req("GET", `/comparisons/${fx.comparisonIds[0]}`, token))).status,
  ).toBe(403);
  const listed = (await (await api.listProjectsHandler(req("GET", "/projects", token))).json()) as {
    items: unknown[];
  };
  expect(listed.items).toEqual([]);
  // tRPC
  const s = session(ann);
  await expect(s.annotation.next({ projectId: p.id })).rejects.toMatchObject({ code: "FORBIDDEN" });
  await expect(s.annotation.project({ project: p.slug })).rejects.toMatchObject({ code: "FORBIDDEN" });
  expect(await s.annotation.projects()).toEqual([]);

  // The account role is the ceiling: an annotator cannot be made a project reviewer.
  const tooHigh = await members.setMemberHandler(
    req("POST", `/projects/${p.slug}/members`, adminToken, { user: ann.email, role: "reviewer" }),
  );
  expect(tooHigh.status).toBe(400);
  // An annotator's token cannot add members.
  expect(
    (await members.setMemberHandler(req("POST", `/projects/${p.slug}/members`, token, { user: ann.email })))
      .status,
  ).toBe(403);
  const added = await members.setMemberHandler(
    req("POST", `/projects/${p.slug}/members`, adminToken, { user: ann.email }),
  );
  expect(added.status).toBe(200);
  expect(await added.json()).toMatchObject({ role: "annotator", userId: ann.id });
  expect((await s.annotation.projects()).map((x) => x.id)).toEqual([p.id]);
  const lease = await s.annotation.next({ projectId: p.id });
  expect(lease.kind).toBe("assignment");
  const listedMembers = (await (
    await members.listMembersHandler(req("GET", `/projects/${p.slug}/members`, adminToken))
  ).json()) as { items: Array<{ email: string; effectiveRole: string }> };
  expect(listedMembers.items).toMatchObject([{ email: ann.email, effectiveRole: "annotator" }]);

  // Removed: the lease ends at once (its slot is free again), and the next "Next" is refused.
  const removed = await members.removeMemberHandler(
    req("DELETE", `/projects/${p.slug}/members/${encodeURIComponent(ann.email)}`, adminToken),
  );
  expect(removed.status).toBe(200);
  const a = await t.prisma.assignment.findFirstOrThrow({ where: { userId: ann.id } });
  expect(a.status).toBe("expired");
  expect((await t.prisma.comparison.findUniqueOrThrow({ where: { id: a.comparisonId } })).leaseCount).toBe(0);
  await expect(s.annotation.next({ projectId: p.id })).rejects.toMatchObject({ code: "FORBIDDEN" });
  if (lease.kind === "assignment")
    await expect(
      s.annotation.submit({
        assignmentId: lease.assignment.assignmentId,
        idempotencyKey: "after-removal-1",
        answer: { kind: "pairwise", choice: "A", strength: 1 },
      }),
    ).rejects.toMatchObject({ code: "PRECONDITION_FAILED" });

  const log = await t.prisma.auditLog.findMany({
    where: { action: { startsWith: "member." } },
    orderBy: { createdAt: "asc" },
  });
  expect(log.map((l) => [l.action, l.actorId])).toEqual([
    ["member.add", admin.id],
    ["member.remove", admin.id],
  ]);
});

test("a reviewer who is only an annotator on a project sees none of its review queue", async () => {
  const fx = await makeProject(t.prisma, { comparisons: 1, overlap: 1 });
  await t.prisma.comparison.update({ where: { id: fx.comparisonIds[0] }, data: { status: "review" } });
  const rev = await makeUser(t.prisma, "Rev", "reviewer");
  await t.prisma.projectMember.update({
    where: { projectId_userId: { projectId: fx.projectId, userId: rev.id } },
    data: { role: "annotator" },
  });
  forgetMemberships();
  const s = session(rev);
  const q = await s.review.queue();
  expect(q.items.map((i) => i.id)).not.toContain(fx.comparisonIds[0]);
  await expect(s.review.item({ comparisonId: fx.comparisonIds[0]! })).rejects.toMatchObject({
    code: "FORBIDDEN",
  });
  const { token } = await createApiToken({ userId: rev.id, name: "r", scopes: ["read"] });
  const slug = (await t.prisma.project.findUniqueOrThrow({ where: { id: fx.projectId } })).slug;
  expect((await api.exportHandler(req("GET", `/projects/${slug}/export`, token))).status).toBe(403);
  // As a reviewer there, they do.
  await t.prisma.projectMember.update({
    where: { projectId_userId: { projectId: fx.projectId, userId: rev.id } },
    data: { role: "reviewer" },
  });
  forgetMemberships();
  expect((await s.review.queue()).items.map((i) => i.id)).toContain(fx.comparisonIds[0]);
  const exp = await api.exportHandler(req("GET", `/projects/${slug}/export`, token));
  expect(exp.status).toBe(200);
  await exp.text();
});

test("the CLI manages members", async () => {
  const fx = await makeProject(t.prisma, { comparisons: 1 });
  const slug = (await t.prisma.project.findUniqueOrThrow({ where: { id: fx.projectId } })).slug;
  const u = await makeUser(t.prisma, "Cli", "reviewer");
  await t.prisma.projectMember.deleteMany({ where: { userId: u.id } });
  const io = { stdout: new PassThrough(), stderr: new PassThrough(), stdin: Readable.from([]) };
  expect(
    await main(["members", "add", "--project", slug, "--user", u.email, "--role", "annotator"], io),
  ).toBe(0);
  expect(
    await t.prisma.projectMember.findUniqueOrThrow({
      where: { projectId_userId: { projectId: fx.projectId, userId: u.id } },
    }),
  ).toMatchObject({ role: "annotator" });
  expect(await main(["members", "remove", "--project", slug, "--user", u.email], io)).toBe(0);
  expect(await t.prisma.projectMember.count({ where: { userId: u.id } })).toBe(0);
  expect(await t.prisma.auditLog.count({ where: { action: "member.add", actorId: null } })).toBe(1);
});
