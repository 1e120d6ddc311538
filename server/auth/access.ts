// Per-project access: who may annotate, review or administer each project.
//
// The rule, in one place:
//  - an instance admin (User.role = admin) administers every project;
//  - anyone else works only on projects they are a member of (ProjectMember), and there with the
//    lower of their account role and their project role. The account role is the ceiling (a
//    reviewer may be a mere annotator on one project); membership narrows, it never widens.
// Every edge asks here: the REST handler wrapper (server/api/http.ts, routes with `projectFrom`),
// the tRPC routers (annotation, review), the pages, and the annotation queue's "Next".
// No "server-only" import: the web process's fast lane (plain Node) checks leases with it.
import { appSql } from "@/server/db/client";
import { toSql, type SqlSource } from "@/server/db/sql";
import { DomainError } from "@/server/errors";
import { ROLES, type Role, type SessionUser } from "./roles";

type Caller = Pick<SessionUser, "id" | "role">;

const rank = (r: Role) => ROLES.indexOf(r);
export const atLeast = (r: Role | null, needed: Role): boolean => r !== null && rank(r) >= rank(needed);
const lower = (a: Role, b: Role): Role => (rank(a) <= rank(b) ? a : b);

// Memberships found are kept a few seconds per process (the annotator's "Next" asks on every call).
// Only positive answers are cached, so adding someone works at once; a removal is seen at once in
// the process that made it and within MEMBER_CACHE_MS elsewhere (their leases end at removal).
const MEMBER_CACHE_MS = 5_000;
const memberCache = new Map<string, { role: Role; at: number }>();

/** Forget cached memberships (after a change): all, or one user's. */
export function forgetMemberships(userId?: string): void {
  if (!userId) return memberCache.clear();
  for (const k of memberCache.keys()) if (k.startsWith(userId + " ")) memberCache.delete(k);
}

/** The caller's effective role in a project, or null when they may not touch it at all. */
export async function projectRole(caller: Caller, projectId: string, db?: SqlSource): Promise<Role | null> {
  if (caller.role === "admin") return "admin";
  const key = `${caller.id} ${projectId}`;
  const hit = memberCache.get(key);
  if (hit && Date.now() - hit.at < MEMBER_CACHE_MS) return lower(caller.role, hit.role);
  const rows = await (db ? toSql(db) : appSql()).query<{ role: Role }>(
    `SELECT role::text AS role FROM "ProjectMember" WHERE "projectId" = $1::text AND "userId" = $2::text`,
    [projectId, caller.id],
  );
  const role = rows[0]?.role;
  if (!role) {
    memberCache.delete(key);
    return null;
  }
  if (memberCache.size > 50_000) memberCache.clear();
  memberCache.set(key, { role, at: Date.now() });
  return lower(caller.role, role);
}

/** The caller's role in the project if it is at least `needed`; throws forbidden otherwise. */
export async function requireProjectRole(
  caller: Caller,
  projectId: string,
  needed: Role = "annotator",
  db?: SqlSource,
): Promise<Role> {
  const role = await projectRole(caller, projectId, db);
  if (!role)
    throw new DomainError(
      "forbidden",
      "You are not a member of this project; ask an admin to add you (People page).",
    );
  if (!atLeast(role, needed))
    throw new DomainError(
      "forbidden",
      `This needs the ${needed} role in this project (yours: ${role}); ask an admin for access.`,
    );
  return role;
}

/** Project ids where the caller's role is at least `needed`; "all" for instance admins. */
export async function projectIdsWithRole(
  caller: Caller,
  needed: Role = "annotator",
  db?: SqlSource,
): Promise<string[] | "all"> {
  if (caller.role === "admin") return "all";
  if (!atLeast(caller.role, needed)) return [];
  const rows = await (db ? toSql(db) : appSql()).query<{ projectId: string }>(
    `SELECT "projectId" FROM "ProjectMember" WHERE "userId" = $1::text AND role = ANY($2::text[]::"Role"[])`,
    [caller.id, ROLES.filter((r) => rank(r) >= rank(needed))],
  );
  return rows.map((r) => r.projectId);
}

/** What a path parameter names, for routes whose project comes from another resource. */
export type ProjectSource = "project" | "comparison" | "import" | "snapshot" | "round";

const LOOKUP: Record<Exclude<ProjectSource, "project">, string> = {
  comparison: `SELECT "projectId" FROM "Comparison" WHERE id = $1::text`,
  import: `SELECT "projectId" FROM "ImportJob" WHERE id = $1::text`,
  snapshot: `SELECT "projectId" FROM "DatasetSnapshot" WHERE id = $1::text`,
  round: `SELECT "projectId" FROM "TrainingRound" WHERE id = $1::text`,
};

/**
 * The project id a reference leads to: a project id or slug, or the id of a comparison, import,
 * snapshot or round. null when nothing matches (the handler's own lookup then says 404).
 */
export async function projectIdOf(
  source: ProjectSource,
  ref: string,
  db?: SqlSource,
): Promise<string | null> {
  // A resource never moves between projects; a renamed slug is seen within REF_CACHE_MS.
  const key = `${source} ${ref}`;
  const hit = refCache.get(key);
  if (hit && Date.now() - hit.at < REF_CACHE_MS) return hit.projectId;
  const sql = db ? toSql(db) : appSql();
  const rows =
    source === "project"
      ? await sql.query<{ projectId: string }>(
          `SELECT id AS "projectId" FROM "Project" WHERE id = $1::text OR slug = $1::text ORDER BY (id = $1::text) DESC LIMIT 1`,
          [ref],
        )
      : await sql.query<{ projectId: string | null }>(LOOKUP[source], [ref]);
  const projectId = rows[0]?.projectId ?? null;
  if (projectId) {
    if (refCache.size > 50_000) refCache.clear();
    refCache.set(key, { projectId, at: Date.now() });
  }
  return projectId;
}

const REF_CACHE_MS = 60_000;
const refCache = new Map<string, { projectId: string; at: number }>();
