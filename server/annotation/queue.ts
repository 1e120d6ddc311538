// The annotator queue: "Next" leases one comparison to one annotator for a while.
//
// Invariants (enforced here, under row locks, on PostgreSQL and on PGlite alike):
//  - judgmentCount + leaseCount <= project.overlap for every non-gold comparison: the candidate row
//    is taken with `FOR UPDATE SKIP LOCKED`, and the counter is bumped with the same condition in
//    the UPDATE's WHERE, so many annotators asking at once each get a different free slot. (PGlite
//    has one session and runs transactions one at a time: SKIP LOCKED is harmless there.)
//  - an annotator never gets the same comparison twice: Assignment is unique on (comparisonId, userId),
//    and the candidate query excludes anything the user has ever been assigned;
//  - an annotator holds at most one active lease per project: "Next" resumes it instead.
// Gold items are checks on the annotator, not data: every annotator may see each one once, so
// they are exempt from overlap, and they are served at Project.goldRatio (see wantGold).
//
// Lock order everywhere in server/annotation: Assignment row first, then Comparison row. The only
// exception is leasing, which locks a Comparison and then inserts a brand-new Assignment (no row
// lock to wait for), so no two paths can wait on each other in a cycle.
// No "server-only" import: the web process's annotation endpoints (plain Node, server/api/
// annotation.ts) run leaseNext too, through node-postgres (server/db/sql.ts).
import crypto from "node:crypto";
import type { Prisma } from "@prisma/client";
import type { Db } from "@/server/db/client";
import { toSql, type Sql, type SqlSource } from "@/server/db/sql";
import { DomainError } from "@/server/errors";
import { parseLabelSchema, parseProjectSettings, type LabelSchema } from "@/server/projects/schema";
import { newId } from "@/server/data/ids";
import type { FlagKind, SkipReason } from "@/server/enums";
import { findProjectByRef } from "@/server/projects/projects";

export type Tx = Prisma.TransactionClient;

/** A completion as the annotator sees it: text only. Model names and sources stay on the server. */
export interface ShownCompletion {
  id: string;
  /** "A", "B", ... in the order shown for this assignment. */
  label: string;
  text: string;
}

export interface AssignmentView {
  assignmentId: string;
  comparisonId: string;
  projectId: string;
  prompt: { text: string | null; messages: Array<{ role: string; content: string }> | null };
  completions: ShownCompletion[];
  labelSchema: LabelSchema;
  leasedAt: string;
  expiresAt: string;
  leaseSeconds: number;
}

export type LeaseResult =
  | { kind: "assignment"; assignment: AssignmentView; resumed: boolean }
  | { kind: "empty"; reason: "no_items" | "all_done" };

export interface LeaseOptions {
  now?: Date;
  /** Random source in [0, 1) for the gold draw and the display order (tests pass a seeded one). */
  random?: () => number;
}

export function positionLabel(i: number): string {
  return String.fromCharCode(65 + i); // A, B, C...
}

function cryptoRandom(): number {
  return crypto.randomInt(0, 2 ** 47) / 2 ** 47;
}

/**
 * Serve gold at `ratio` of this annotator's items: after `served` items of which `gold` were gold,
 * the next one is gold with probability clamp(ratio·(served+1) − gold, 0, 1). The realised share
 * never drifts more than one item from the ratio, yet the position of gold items is not a pattern
 * an annotator can learn.
 */
export function wantGold(ratio: number, served: number, gold: number, random: () => number): boolean {
  if (!(ratio > 0)) return false;
  const p = Math.min(1, Math.max(0, ratio * (served + 1) - gold));
  return p >= 1 || random() < p;
}

interface ProjectRow {
  id: string;
  overlap: number;
  goldRatio: number;
  labelSchema: unknown;
  settings: unknown;
  archived: boolean;
}

async function projectOrThrow(db: SqlSource, projectId: string): Promise<ProjectRow> {
  const rows = await toSql(db).query<ProjectRow>(
    `SELECT id, overlap, "goldRatio", "labelSchema", settings, archived FROM "Project" WHERE id = $1::text`,
    [projectId],
  );
  const p = rows[0];
  if (!p) throw new DomainError("not_found", `Project ${projectId} does not exist.`);
  return p;
}

// The hot path reads a project's settings from a short-lived per-process cache. Nothing that
// guards an invariant depends on it: overlap is read from the Project row inside the lease
// statement itself; a changed label schema or lease length is seen within PROJECT_TTL_MS.
const PROJECT_TTL_MS = 2_000;
const projectCache = new Map<string, { row: ProjectRow; at: number }>();
async function cachedProject(db: SqlSource, projectId: string): Promise<ProjectRow> {
  const hit = projectCache.get(projectId);
  if (hit && Date.now() - hit.at < PROJECT_TTL_MS) return hit.row;
  const row = await projectOrThrow(db, projectId);
  projectCache.set(projectId, { row, at: Date.now() });
  return row;
}

/** Whether the project shows model names after a vote (from the cache). */
export async function revealModelsAfterVote(db: SqlSource, projectId: string): Promise<boolean> {
  return parseProjectSettings((await cachedProject(db, projectId)).settings).revealModelsAfterVote;
}

// Sweeping expired leases costs a statement; once a second per project and process is plenty
// (a lease is reclaimed at most a second after it expired).
const SWEEP_EVERY_MS = 1_000;
const lastSweep = new Map<string, number>();

/**
 * Returns expired leases to the pool: assignments past expiresAt become "expired" and their
 * comparisons' leaseCount drops. One statement; rows another transaction holds are skipped (the
 * next sweep gets them), so it never waits. Returns how many leases it reclaimed.
 */
export async function sweepExpiredLeases(
  db: SqlSource,
  opts: { projectId?: string; now?: Date } = {},
): Promise<number> {
  const now = opts.now ?? new Date();
  const rows = await toSql(db).query<{ n: number }>(
    `WITH stale AS (
      SELECT a.id FROM "Assignment" a
      WHERE a.status = 'active' AND a."expiresAt" < $1::timestamp(3) AND ($2::text IS NULL OR a."projectId" = $2::text)
      FOR UPDATE SKIP LOCKED
    ), ended AS (
      UPDATE "Assignment" a SET status = 'expired', "endedAt" = $1::timestamp(3)
      FROM stale WHERE a.id = stale.id
      RETURNING a."comparisonId"
    ), released AS (
      UPDATE "Comparison" c SET "leaseCount" = GREATEST(c."leaseCount" - x.n, 0)
      FROM (SELECT "comparisonId", count(*)::int AS n FROM ended GROUP BY 1) x
      WHERE c.id = x."comparisonId"
      RETURNING x.n
    )
    SELECT COALESCE(sum(n), 0)::int AS n FROM released`,
    [now, opts.projectId ?? null],
  );
  return rows[0]?.n ?? 0;
}

/** An assignment row joined with what the annotator sees, as one query returns it. */
interface ViewRow {
  id: string;
  projectId: string;
  comparisonId: string;
  displayOrder: string[];
  leasedAt: Date;
  expiresAt: Date;
  promptText: string | null;
  promptMessages: unknown;
  completions: Array<{ id: string; text: string }> | null;
}

/** Prompt and completion texts for an assignment row `a` (used inside the lease statements). */
const VIEW_COLUMNS = `
  a.id, a."projectId", a."comparisonId", a."displayOrder", a."leasedAt", a."expiresAt",
  p.text AS "promptText", p.messages AS "promptMessages",
  (SELECT json_agg(json_build_object('id', x.id, 'text', x.text)) FROM "Completion" x WHERE x.id = ANY(a."displayOrder")) AS completions`;

function toView(r: ViewRow, project: ProjectRow): AssignmentView {
  const byId = new Map((r.completions ?? []).map((c) => [c.id, c.text]));
  return {
    assignmentId: r.id,
    comparisonId: r.comparisonId,
    projectId: r.projectId,
    prompt: { text: r.promptText, messages: parseMessages(r.promptMessages) },
    completions: r.displayOrder.map((id, i) => ({ id, label: positionLabel(i), text: byId.get(id) ?? "" })),
    labelSchema: parseLabelSchema(project.labelSchema),
    leasedAt: new Date(r.leasedAt).toISOString(),
    expiresAt: new Date(r.expiresAt).toISOString(),
    leaseSeconds: parseProjectSettings(project.settings).leaseSeconds,
  };
}

async function viewOf(db: SqlSource, assignmentId: string, project: ProjectRow): Promise<AssignmentView> {
  const rows = await toSql(db).query<ViewRow>(
    `SELECT ${VIEW_COLUMNS}
    FROM "Assignment" a JOIN "Comparison" c ON c.id = a."comparisonId" JOIN "Prompt" p ON p.id = c."promptId"
    WHERE a.id = $1::text`,
    [assignmentId],
  );
  const r = rows[0];
  if (!r) throw new DomainError("not_found", `No assignment ${assignmentId}.`);
  return toView(r, project);
}

function parseMessages(json: unknown): Array<{ role: string; content: string }> | null {
  if (!Array.isArray(json)) return null;
  return json
    .filter((m): m is { role: unknown; content: unknown } => typeof m === "object" && m !== null)
    .map((m) => ({
      role: String(m.role ?? "user"),
      content: typeof m.content === "string" ? m.content : JSON.stringify(m.content),
    }));
}

/** Random sort keys for the display order, from the given random source (max K = 16). */
function orderKeys(random: () => number): number[] {
  return Array.from({ length: 16 }, () => random());
}

/**
 * "Next": the annotator's active lease in this project if they still hold one (a reload resumes
 * it), otherwise a fresh lease on the next comparison: gold at the project's ratio, then by
 * priority (highest first), then oldest first.
 */
export async function leaseNext(
  db: SqlSource,
  input: { projectId: string; userId: string },
  opts: LeaseOptions = {},
): Promise<LeaseResult> {
  const sql = toSql(db);
  const now = opts.now ?? new Date();
  const random = opts.random ?? cryptoRandom;
  const project = await cachedProject(sql, input.projectId);
  if (project.archived)
    throw new DomainError("gone", "This project is archived; it no longer takes judgments.");
  const settings = parseProjectSettings(project.settings);

  // With gold in play the held lease is looked up first (the gold draw needs counts); otherwise
  // the lease statement resumes a held lease itself, and "Next" is one round trip.
  const separateHeldLookup = project.goldRatio > 0;
  if (separateHeldLookup) {
    const held = await sql.query<ViewRow>(
      `SELECT ${VIEW_COLUMNS}
      FROM "Assignment" a JOIN "Comparison" c ON c.id = a."comparisonId" JOIN "Prompt" p ON p.id = c."promptId"
      WHERE a."userId" = $1::text AND a."projectId" = $2::text AND a.status = 'active' AND a."expiresAt" > $3::timestamp(3)
      ORDER BY a."leasedAt" DESC LIMIT 1`,
      [input.userId, input.projectId, now],
    );
    if (held[0]) return { kind: "assignment", assignment: toView(held[0], project), resumed: true };
  }

  // Reclaim expired leases (cheap when there are none: the (status, expiresAt) index answers it).
  const last = lastSweep.get(input.projectId) ?? 0;
  if (opts.now || Date.now() - last >= SWEEP_EVERY_MS) {
    lastSweep.set(input.projectId, Date.now());
    await sweepExpiredLeases(sql, { projectId: input.projectId, now });
  }

  let goldFirst = false;
  if (project.goldRatio > 0) {
    // Items served (active or submitted assignments) and gold among them: counters kept by a
    // trigger on Assignment (migration 20261204170000), one row read whatever the history.
    const [counts] = await sql.query<{ served: number; gold: number }>(
      `SELECT served, gold FROM "AnnotatorCounter" WHERE "userId" = $1::text AND "projectId" = $2::text`,
      [input.userId, input.projectId],
    );
    goldFirst = wantGold(project.goldRatio, counts?.served ?? 0, counts?.gold ?? 0, random);
  }
  const expiresAt = new Date(now.getTime() + settings.leaseSeconds * 1000);
  for (let attempt = 0; attempt < 4; attempt++) {
    for (const gold of goldFirst ? [true, false] : [false, true]) {
      if (gold && !(project.goldRatio > 0)) continue;
      const leased = await leaseOne(sql, {
        ...input,
        gold,
        now,
        expiresAt,
        keys: orderKeys(random),
        resumeHeld: !separateHeldLookup,
      });
      if (leased) return { kind: "assignment", assignment: toView(leased, project), resumed: leased.resumed };
    }
    // Nothing leased. Either nothing is left for this annotator, or every candidate was locked
    // by someone else being served at this very moment: look again without skipping locks.
    if (!(await anyCandidate(sql, input.projectId, input.userId, project.goldRatio > 0))) break;
    await new Promise((r) => setTimeout(r, 5 + attempt * 10));
  }
  const [any] = await sql.query<{ ok: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM "Assignment" WHERE "userId" = $1::text AND "projectId" = $2::text) AS ok`,
    [input.userId, input.projectId],
  );
  return { kind: "empty", reason: any?.ok ? "all_done" : "no_items" };
}

/**
 * One call, so one implicit transaction: the database function pw_lease_one (migration
 * 20261129220000) resumes the held lease when asked, else takes the first free comparison in
 * queue order (rows another annotator is being served right now are skipped, not waited on),
 * bumps its leaseCount under the capacity rule, inserts the assignment with a shuffled display
 * order, and returns what the annotator will see. Gold items are exempt from the capacity rule.
 */
async function leaseOne(
  sql: Sql,
  q: {
    projectId: string;
    userId: string;
    gold: boolean;
    now: Date;
    expiresAt: Date;
    keys: number[];
    resumeHeld: boolean;
  },
): Promise<(ViewRow & { resumed: boolean }) | null> {
  const rows = await sql.query<ViewRow & { resumed: boolean }>(
    `SELECT * FROM pw_lease_one($1::text, $2::text, $3::boolean, $4::text, $5::timestamp(3), $6::timestamp(3), $7::float8[], $8::boolean)`,
    [q.projectId, q.userId, q.gold, newId(), q.now, q.expiresAt, q.keys, q.resumeHeld],
  );
  return rows[0] ?? null;
}

async function anyCandidate(
  sql: Sql,
  projectId: string,
  userId: string,
  includeGold: boolean,
): Promise<boolean> {
  const rows = await sql.query<{ ok: boolean }>(
    `SELECT EXISTS (
      SELECT 1 FROM "Comparison" c
      WHERE c."projectId" = $1::text AND c.status = 'open'
        AND ((c."isGold" AND $3::boolean) OR (NOT c."isGold" AND c."judgmentCount" + c."leaseCount" < (SELECT overlap FROM "Project" WHERE id = $1::text)))
        AND NOT EXISTS (SELECT 1 FROM "Assignment" a WHERE a."comparisonId" = c.id AND a."userId" = $2::text)
    ) AS ok`,
    [projectId, userId, includeGold],
  );
  return rows[0]?.ok === true;
}

/** The annotator's own assignment, locked for the rest of the transaction. */
export async function lockOwnAssignment(tx: Tx, assignmentId: string, userId: string) {
  const rows = await tx.$queryRaw<
    Array<{
      id: string;
      projectId: string;
      comparisonId: string;
      userId: string;
      displayOrder: string[];
      status: "active" | "submitted" | "skipped" | "expired";
      leasedAt: Date;
      expiresAt: Date;
    }>
  >`SELECT id, "projectId", "comparisonId", "userId", "displayOrder", status, "leasedAt", "expiresAt"
    FROM "Assignment" WHERE id = ${assignmentId} FOR UPDATE`;
  const a = rows[0];
  if (!a || a.userId !== userId)
    throw new DomainError("not_found", "This assignment does not exist or is not yours.");
  return a;
}

export const LEASE_EXPIRED_MESSAGE =
  "Your time on this comparison ran out and it went back to the queue. What you entered is kept on this device.";

/** Extends an active lease by the project's lease length. Says plainly when the lease is gone. */
export async function heartbeat(
  db: Db,
  input: { assignmentId: string; userId: string },
  opts: { now?: Date } = {},
): Promise<{ expiresAt: string }> {
  const now = opts.now ?? new Date();
  const a = await db.assignment.findUnique({
    where: { id: input.assignmentId },
    select: { userId: true, status: true, projectId: true, expiresAt: true },
  });
  if (!a || a.userId !== input.userId)
    throw new DomainError("not_found", "This assignment does not exist or is not yours.");
  if (a.status !== "active")
    throw new DomainError(
      "gone",
      a.status === "expired" ? LEASE_EXPIRED_MESSAGE : `This assignment is already ${a.status}.`,
    );
  const project = await projectOrThrow(db, a.projectId);
  const expiresAt = new Date(now.getTime() + parseProjectSettings(project.settings).leaseSeconds * 1000);
  // Conditional on still being active: a concurrent sweep that expired it wins.
  const n = await db.assignment.updateMany({
    where: { id: input.assignmentId, status: "active" },
    data: { heartbeatAt: now, expiresAt },
  });
  if (n.count !== 1) throw new DomainError("gone", LEASE_EXPIRED_MESSAGE);
  return { expiresAt: expiresAt.toISOString() };
}

/**
 * Takes an expired lease back, if the comparison still has room: the annotator's draft of an
 * expired item can then still be submitted. The same Assignment row is reused (one per user and
 * comparison), with its original display order.
 */
export async function resumeExpired(
  db: Db,
  input: { assignmentId: string; userId: string },
  opts: { now?: Date } = {},
): Promise<LeaseResult> {
  const now = opts.now ?? new Date();
  const result = await db.$transaction(async (tx) => {
    const a = await lockOwnAssignment(tx, input.assignmentId, input.userId);
    const project = await projectOrThrow(tx, a.projectId);
    if (a.status === "active") return { a, project };
    if (a.status !== "expired")
      throw new DomainError("conflict", `This assignment was ${a.status}; it cannot be resumed.`);
    const other = await tx.assignment.findFirst({
      where: { userId: input.userId, projectId: a.projectId, status: "active", expiresAt: { gt: now } },
      select: { id: true },
    });
    if (other)
      throw new DomainError(
        "conflict",
        "You already hold another comparison in this project; finish or skip it first.",
      );
    const bumped = await tx.$executeRaw`
      UPDATE "Comparison" SET "leaseCount" = "leaseCount" + 1
      WHERE id = ${a.comparisonId} AND status = 'open'
        AND ("isGold" OR "judgmentCount" + "leaseCount" < ${project.overlap})`;
    if (bumped !== 1) {
      throw new DomainError(
        "gone",
        "Someone else has taken this comparison in the meantime, so it cannot be resumed. Your draft is discarded when you move on.",
      );
    }
    const expiresAt = new Date(now.getTime() + parseProjectSettings(project.settings).leaseSeconds * 1000);
    await tx.assignment.update({
      where: { id: a.id },
      data: { status: "active", endedAt: null, heartbeatAt: now, expiresAt },
    });
    return { a: { ...a, expiresAt }, project };
  });
  return {
    kind: "assignment",
    assignment: await viewOf(db, result.a.id, result.project),
    resumed: true,
  };
}

export { SkipReason, FlagKind } from "@/server/enums";

/** Ends the lease without a judgment; the comparison returns to the pool for others. */
export async function skipAssignment(
  db: Db,
  input: { assignmentId: string; userId: string; reason: SkipReason; note?: string },
  opts: { now?: Date } = {},
): Promise<{ status: "skipped" }> {
  const skipReason = (input.note ? `${input.reason}: ${input.note}` : input.reason).slice(0, 500);
  const now = opts.now ?? new Date();
  await db.$transaction(async (tx) => {
    const a = await lockOwnAssignment(tx, input.assignmentId, input.userId);
    if (a.status === "skipped") return; // a retried skip
    if (a.status !== "active") throw new DomainError("conflict", `This assignment is already ${a.status}.`);
    await tx.assignment.update({
      where: { id: a.id },
      data: { status: "skipped", endedAt: now, skipReason },
    });
    await tx.$executeRaw`UPDATE "Comparison" SET "leaseCount" = GREATEST("leaseCount" - 1, 0) WHERE id = ${a.comparisonId}`;
  });
  return { status: "skipped" };
}

/**
 * Flags a comparison (unsafe content, private data, broken item): the annotator's lease ends, the
 * comparison leaves every queue (status "flagged") until a reviewer looks at it, and the reason is
 * kept in the audit log.
 */
export async function flagAssignment(
  db: Db,
  input: { assignmentId: string; userId: string; flag: FlagKind; reason: string },
  opts: { now?: Date } = {},
): Promise<{ status: "flagged" }> {
  const now = opts.now ?? new Date();
  if (!input.reason.trim())
    throw new DomainError("bad_request", "Say briefly why you flag this item (the reason is required).");
  await db.$transaction(async (tx) => {
    const a = await lockOwnAssignment(tx, input.assignmentId, input.userId);
    if (a.status === "skipped") return;
    if (a.status !== "active") throw new DomainError("conflict", `This assignment is already ${a.status}.`);
    await tx.assignment.update({
      where: { id: a.id },
      data: {
        status: "skipped",
        endedAt: now,
        skipReason: `flag:${input.flag}: ${input.reason.slice(0, 500)}`,
      },
    });
    await tx.$executeRaw`
      UPDATE "Comparison" SET "leaseCount" = GREATEST("leaseCount" - 1, 0),
        status = CASE WHEN status = 'open' THEN 'flagged'::"ComparisonStatus" ELSE status END
      WHERE id = ${a.comparisonId}`;
    await tx.auditLog.create({
      data: {
        actorId: input.userId,
        action: "comparison.flag",
        target: a.comparisonId,
        data: { flag: input.flag, reason: input.reason.slice(0, 2000), assignmentId: a.id },
      },
    });
  });
  return { status: "flagged" };
}

/** Projects an annotator can work on, with how much is left for them. */
/**
 * The projects an annotator may work in, with how many items are available to them: open, gold
 * or below overlap, never assigned to them. From the counters 'av' and 'av|<userId>' that
 * triggers keep (migration 20261205031000): available = av − av|<userId>.
 */
export async function listAnnotatorProjects(db: Db, userId: string) {
  const projects = await db.project.findMany({
    where: { archived: false },
    select: { id: true, slug: true, name: true, labelSchema: true, overlap: true },
    orderBy: { createdAt: "asc" },
  });
  const sql = toSql(db);
  const ids = projects.map((p) => p.id);
  for (const id of ids) await sql.query(`SELECT 1 AS ok FROM pw_stat_compact($1::text)`, [id]);
  const rows = await sql.query<{ projectId: string; key: string; n: string | number }>(
    `SELECT "projectId", key, n FROM "StatCell" WHERE "projectId" = ANY($1::text[]) AND key = ANY($2::text[])`,
    [ids, ["av", `av|${userId}`]],
  );
  const byProject = new Map<string, number>();
  for (const r of rows) {
    const n = Number(r.n) * (r.key === "av" ? 1 : -1);
    byProject.set(r.projectId, (byProject.get(r.projectId) ?? 0) + n);
  }
  return projects.map((p) => ({
    id: p.id,
    slug: p.slug,
    name: p.name,
    kind: parseLabelSchema(p.labelSchema).kind,
    available: byProject.get(p.id) ?? 0,
  }));
}

/** What the annotator needs once per project: instructions and the label schema. */
export async function annotatorProject(db: Db, projectIdOrSlug: string) {
  const p = await findProjectByRef(db, projectIdOrSlug, {
    id: true,
    slug: true,
    name: true,
    instructions: true,
    labelSchema: true,
    settings: true,
    archived: true,
  });
  if (!p) throw new DomainError("not_found", `Project ${projectIdOrSlug} does not exist.`);
  const settings = parseProjectSettings(p.settings);
  return {
    id: p.id,
    slug: p.slug,
    name: p.name,
    instructions: p.instructions,
    labelSchema: parseLabelSchema(p.labelSchema),
    revealModelsAfterVote: settings.revealModelsAfterVote,
    leaseSeconds: settings.leaseSeconds,
    archived: p.archived,
  };
}
