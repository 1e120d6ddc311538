// Project membership: adding people to projects with a role there, changing it, removing them.
// The rule it feeds is in server/auth/access.ts (account role is the ceiling; instance admins
// administer every project). Every change is audited; a removal ends the person's leases in the
// project at once, so nothing they still hold can be submitted.
import type { Role } from "@prisma/client";
import type { Db } from "@/server/db/client";
import { DomainError } from "@/server/errors";
import { ROLES } from "@/server/auth/roles";
import { forgetMemberships } from "@/server/auth/access";
import { getProjectOrThrow } from "@/server/projects/projects";
import { audit } from "@/server/audit/audit";

const rank = (r: Role) => ROLES.indexOf(r);

/** A user by id or email. */
async function userOrThrow(db: Db, ref: string) {
  const u = await db.user.findFirst({
    where: { OR: [{ id: ref }, { email: ref.trim().toLowerCase() }] },
    select: { id: true, email: true, name: true, role: true, active: true },
  });
  if (!u)
    throw new DomainError(
      "not_found",
      `No user ${ref}; list people on the People page or with \`pairwise users list\`.`,
    );
  return u;
}

/** Members of one project (or of every project), with their account and project roles. */
export async function listMembers(db: Db, opts: { project?: string } = {}) {
  const projectId = opts.project ? (await getProjectOrThrow(db, opts.project)).id : undefined;
  const rows = await db.projectMember.findMany({
    where: projectId ? { projectId } : {},
    orderBy: [{ projectId: "asc" }, { createdAt: "asc" }],
    select: {
      projectId: true,
      role: true,
      createdAt: true,
      project: { select: { slug: true, name: true } },
      user: { select: { id: true, email: true, name: true, role: true, active: true } },
    },
  });
  return rows.map((r) => ({
    projectId: r.projectId,
    projectSlug: r.project.slug,
    projectName: r.project.name,
    userId: r.user.id,
    email: r.user.email,
    name: r.user.name,
    accountRole: r.user.role,
    active: r.user.active,
    role: r.role,
    /** What they may do there: the lower of the two roles. */
    effectiveRole: rank(r.role) <= rank(r.user.role) ? r.role : r.user.role,
    createdAt: r.createdAt,
  }));
}

/** Add a person to a project, or change their role there. */
export async function setMember(
  db: Db,
  actorId: string | null,
  input: { project: string; user: string; role?: Role },
) {
  const project = await getProjectOrThrow(db, input.project);
  const user = await userOrThrow(db, input.user);
  if (user.role === "admin")
    throw new DomainError(
      "bad_request",
      `${user.email} is an admin: admins administer every project and need no membership.`,
    );
  const role = input.role ?? user.role;
  if (rank(role) > rank(user.role))
    throw new DomainError(
      "bad_request",
      `${user.email}'s account role is ${user.role}, the most they can be in a project; change their account role first.`,
    );
  const before = await db.projectMember.findUnique({
    where: { projectId_userId: { projectId: project.id, userId: user.id } },
    select: { role: true },
  });
  const row = await db.projectMember.upsert({
    where: { projectId_userId: { projectId: project.id, userId: user.id } },
    create: { projectId: project.id, userId: user.id, role, createdById: actorId },
    update: { role },
    select: { projectId: true, userId: true, role: true, createdAt: true },
  });
  await audit(db, {
    actorId,
    action: before ? "member.role" : "member.add",
    target: `${project.id}:${user.id}`,
    data: { project: project.slug, user: user.email, from: before?.role ?? null, to: role },
  });
  forgetMemberships(user.id);
  return row;
}

/** Remove a person from a project; their active leases there end now. */
export async function removeMember(db: Db, actorId: string | null, input: { project: string; user: string }) {
  const project = await getProjectOrThrow(db, input.project);
  const user = await userOrThrow(db, input.user);
  const removed = await db.$transaction(async (tx) => {
    const n = await tx.projectMember.deleteMany({ where: { projectId: project.id, userId: user.id } });
    if (n.count === 0) return 0;
    const leases = await tx.assignment.findMany({
      where: { userId: user.id, projectId: project.id, status: "active" },
      select: { id: true, comparisonId: true },
    });
    for (const l of leases) {
      await tx.assignment.update({ where: { id: l.id }, data: { status: "expired", endedAt: new Date() } });
      await tx.$executeRaw`UPDATE "Comparison" SET "leaseCount" = GREATEST("leaseCount" - 1, 0) WHERE id = ${l.comparisonId}`;
    }
    return n.count;
  });
  if (!removed) throw new DomainError("not_found", `${user.email} is not a member of ${project.slug}.`);
  await audit(db, {
    actorId,
    action: "member.remove",
    target: `${project.id}:${user.id}`,
    data: { project: project.slug, user: user.email },
  });
  forgetMemberships(user.id);
  return { removed: true as const };
}
