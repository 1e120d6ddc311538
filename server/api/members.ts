// REST edge of project membership (/api/v1), following server/api's conventions: a route table
// entry (method, path, scope, role, zod schemas) and a handler; app/api/v1/**/route.ts re-exports
// them. Instance admins manage members; the rule itself is in server/auth/access.ts.
import { z } from "zod";
import { db } from "@/server/db/client";
import { ROLES } from "@/server/auth/roles";
import { listMembers, removeMember, setMember } from "@/server/annotation/members";
import { handler, type RouteDef } from "./http";

const Id = z.string().min(1).max(200);
const ProjectRef = z.object({ project: Id.describe("Project id or slug") });

const MemberOut = z.object({
  projectId: z.string(),
  projectSlug: z.string(),
  projectName: z.string(),
  userId: z.string(),
  email: z.string(),
  name: z.string(),
  accountRole: z.enum(ROLES),
  active: z.boolean(),
  role: z.enum(ROLES).describe("The role in this project"),
  effectiveRole: z.enum(ROLES).describe("What they may do here: the lower of the account and project roles"),
  createdAt: z.string(),
});

export const memberRoutes = {
  listMembers: {
    operationId: "listMembers",
    method: "GET",
    path: "/projects/{project}/members",
    summary: "A project's members and their roles there",
    tag: "members",
    scope: "read",
    role: "admin",
    projectFrom: "project",
    params: ProjectRef,
    response: z.object({ items: z.array(MemberOut) }),
  },
  setMember: {
    operationId: "setMember",
    method: "POST",
    path: "/projects/{project}/members",
    summary: "Add a person to a project, or change their role there",
    description:
      "`user` is a user id or email; `role` defaults to their account role and cannot exceed it. Admins administer every project and need no membership.",
    tag: "members",
    scope: "admin",
    role: "admin",
    projectFrom: "project",
    params: ProjectRef,
    body: z.object({ user: Id, role: z.enum(ROLES).optional() }),
    response: z.object({
      projectId: z.string(),
      userId: z.string(),
      role: z.enum(ROLES),
      createdAt: z.string(),
    }),
  },
  removeMember: {
    operationId: "removeMember",
    method: "DELETE",
    path: "/projects/{project}/members/{user}",
    summary: "Remove a person from a project (their leases there end at once)",
    tag: "members",
    scope: "admin",
    role: "admin",
    projectFrom: "project",
    params: ProjectRef.extend({ user: Id.describe("User id or email") }),
    response: z.object({ removed: z.literal(true) }),
  },
} as const satisfies Record<string, RouteDef>;

// GET /api/v1/projects/{project}/members - members and roles
export const listMembersHandler = handler(memberRoutes.listMembers, async ({ params }) => ({
  items: await listMembers(db(), { project: params.project }),
}));

// POST /api/v1/projects/{project}/members - add or change a member
export const setMemberHandler = handler(memberRoutes.setMember, async ({ params, body, auth }) =>
  setMember(db(), auth!.user.id, { project: params.project, user: body.user, role: body.role }),
);

// DELETE /api/v1/projects/{project}/members/{user} - remove a member
export const removeMemberHandler = handler(memberRoutes.removeMember, async ({ params, auth }) =>
  removeMember(db(), auth!.user.id, { project: params.project, user: params.user }),
);
