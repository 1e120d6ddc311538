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
import "server-only";
import crypto from "node:crypto";
import { Prisma } from "@prisma/client";
import type { Db } from "@/server/db/client";
import { DomainError } from "@/server/errors";
import { parseLabelSchema, parseProjectSettings, type LabelSchema } from "@/server/projects/schema";

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

/** Fisher–Yates with the given random source. */
export function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
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

async function projectOrThrow(db: Db | Tx, projectId: string): Promise<ProjectRow> {
  const p = await db.project.findUnique({
    where: { id: projectId },
    select: { id: true, overlap: true, goldRatio: true, labelSchema: true, settings: true, archived: true },
  });
  if (!p) throw new DomainError("not_found", `Project ${projectId} does not exist.`);
  return p;
}

/**
 * Returns expired leases to the pool: assignments past expiresAt become "expired" and their
 * comparisons' leaseCount drops. One statement; rows another transaction holds are skipped (the
 * next sweep gets them), so it never waits. Returns how many leases it reclaimed.
 */
export async function sweepExpiredLeases(db: Db | Tx, opts: { projectId?: string; now?: Date } = {}): Promise<number> {
  const now = opts.now ?? new Date();
  const projectFilter = opts.projectId ? Prisma.sql`AND a."projectId" = ${opts.projectId}` : Prisma.empty;
  const rows = await db.$queryRaw<Array<{ n: number }>>`
    WITH stale AS (
      SELECT a.id FROM "Assignment" a
      WHERE a.status = 'active' AND a."expiresAt" < ${now} ${projectFilter}
      FOR UPDATE SKIP LOCKED
    ), ended AS (
      UPDATE "Assignment" a SET status = 'expired', "endedAt" = ${now}
      FROM stale WHERE a.id = stale.id
      RETURNING a."comparisonId"
    ), released AS (
      UPDATE "Comparison" c SET "leaseCount" = GREATEST(c."leaseCount" - x.n, 0)
      FROM (SELECT "comparisonId", count(*)::int AS n FROM ended GROUP BY 1) x
      WHERE c.id = x."comparisonId"
      RETURNING x.n
    )
    SELECT COALESCE(sum(n), 0)::int AS n FROM released`;
  return rows[0]?.n ?? 0;
}

const ACTIVE_VIEW_SELECT = {
  id: true,
  projectId: true,
  comparisonId: true,
  displayOrder: true,
  leasedAt: true,
  expiresAt: true,
} as const;

async function buildView(
  db: Db | Tx,
  a: { id: string; projectId: string; comparisonId: string; displayOrder: string[]; leasedAt: Date; expiresAt: Date },
  project: ProjectRow,
): Promise<AssignmentView> {
  const comparison = await db.comparison.findUniqueOrThrow({
    where: { id: a.comparisonId },
    select: { prompt: { select: { text: true, messages: true } } },
  });
  const completions = await db.completion.findMany({ where: { id: { in: a.displayOrder } }, select: { id: true, text: true } });
  const byId = new Map(completions.map((c) => [c.id, c.text]));
  const settings = parseProjectSettings(project.settings);
  return {
    assignmentId: a.id,
    comparisonId: a.comparisonId,
    projectId: a.projectId,
    prompt: {
      text: comparison.prompt.text,
      messages: parseMessages(comparison.prompt.messages),
    },
    completions: a.displayOrder.map((id, i) => ({ id, label: positionLabel(i), text: byId.get(id) ?? "" })),
    labelSchema: parseLabelSchema(project.labelSchema),
    leasedAt: a.leasedAt.toISOString(),
    expiresAt: a.expiresAt.toISOString(),
    leaseSeconds: settings.leaseSeconds,
  };
}

function parseMessages(json: unknown): Array<{ role: string; content: string }> | null {
  if (!Array.isArray(json)) return null;
  return json
    .filter((m): m is { role: unknown; content: unknown } => typeof m === "object" && m !== null)
    .map((m) => ({ role: String(m.role ?? "user"), content: typeof m.content === "string" ? m.content : JSON.stringify(m.content) }));
}

/**
 * "Next": the annotator's active lease in this project if they still hold one (a reload resumes
 * it), otherwise a fresh lease on the next comparison: gold at the project's ratio, then by
 * priority (highest first), then oldest first.
 */
export async function leaseNext(
  db: Db,
  input: { projectId: string; userId: string },
  opts: LeaseOptions = {},
): Promise<LeaseResult> {
  const now = opts.now ?? new Date();
  const random = opts.random ?? cryptoRandom;
  const project = await projectOrThrow(db, input.projectId);
  if (project.archived) throw new DomainError("gone", "This project is archived; it no longer takes judgments.");
  const settings = parseProjectSettings(project.settings);

  const held = await db.assignment.findFirst({
    where: { userId: input.userId, projectId: input.projectId, status: "active", expiresAt: { gt: now } },
    select: ACTIVE_VIEW_SELECT,
    orderBy: { leasedAt: "desc" },
  });
  if (held) return { kind: "assignment", assignment: await buildView(db, held, project), resumed: true };

  // Reclaim expired leases (cheap when there are none: the (status, expiresAt) index answers it).
  await sweepExpiredLeases(db, { projectId: input.projectId, now });

  const expiresAt = new Date(now.getTime() + settings.leaseSeconds * 1000);
  for (let attempt = 0; attempt < 5; attempt++) {
    const leased = await db.$transaction(async (tx) => {
      const [counts] = await tx.$queryRaw<Array<{ served: number; gold: number }>>`
        SELECT count(*)::int AS served, count(*) FILTER (WHERE c."isGold")::int AS gold
        FROM "Assignment" a JOIN "Comparison" c ON c.id = a."comparisonId"
        WHERE a."userId" = ${input.userId} AND a."projectId" = ${input.projectId} AND a.status IN ('active', 'submitted')`;
      const goldFirst = wantGold(project.goldRatio, counts?.served ?? 0, counts?.gold ?? 0, random);
      const order = goldFirst ? [true, false] : [false, true];
      for (const gold of order) {
        const picked = await pickCandidate(tx, input.projectId, input.userId, gold, project.overlap);
        if (!picked) continue;
        const displayOrder = shuffle(picked.completionIds, random);
        const bumped = await tx.$executeRaw`
          UPDATE "Comparison" SET "leaseCount" = "leaseCount" + 1
          WHERE id = ${picked.id} AND status = 'open'
            AND ("isGold" OR "judgmentCount" + "leaseCount" < ${project.overlap})`;
        if (bumped !== 1) return "retry" as const; // re-checked under the lock: slot gone
        const a = await tx.assignment.create({
          data: {
            projectId: input.projectId,
            comparisonId: picked.id,
            userId: input.userId,
            displayOrder,
            leasedAt: now,
            heartbeatAt: now,
            expiresAt,
          },
          select: ACTIVE_VIEW_SELECT,
        });
        return a;
      }
      return null;
    });
    if (leased === "retry") continue;
    if (!leased) break;
    return { kind: "assignment", assignment: await buildView(db, leased, project), resumed: false };
  }
  const any = await db.assignment.count({ where: { userId: input.userId, projectId: input.projectId } });
  return { kind: "empty", reason: any > 0 ? "all_done" : "no_items" };
}

async function pickCandidate(
  tx: Tx,
  projectId: string,
  userId: string,
  gold: boolean,
  overlap: number,
): Promise<{ id: string; completionIds: string[] } | null> {
  // The index (projectId, status, isGold, priority DESC, createdAt) yields rows in queue order;
  // locked rows (another annotator is being served it right now) are skipped, not waited on.
  const capacity = gold ? Prisma.empty : Prisma.sql`AND c."judgmentCount" + c."leaseCount" < ${overlap}`;
  const rows = await tx.$queryRaw<Array<{ id: string; completionIds: string[] }>>`
    SELECT c.id, c."completionIds" FROM "Comparison" c
    WHERE c."projectId" = ${projectId} AND c.status = 'open' AND c."isGold" = ${gold} ${capacity}
      AND NOT EXISTS (SELECT 1 FROM "Assignment" a WHERE a."comparisonId" = c.id AND a."userId" = ${userId})
    ORDER BY c.priority DESC, c."createdAt" ASC, c.id ASC
    LIMIT 1
    FOR UPDATE OF c SKIP LOCKED`;
  return rows[0] ?? null;
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
  if (!a || a.userId !== userId) throw new DomainError("not_found", "This assignment does not exist or is not yours.");
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
  if (!a || a.userId !== input.userId) throw new DomainError("not_found", "This assignment does not exist or is not yours.");
  if (a.status !== "active") throw new DomainError("gone", a.status === "expired" ? LEASE_EXPIRED_MESSAGE : `This assignment is already ${a.status}.`);
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
    if (a.status !== "expired") throw new DomainError("conflict", `This assignment was ${a.status}; it cannot be resumed.`);
    const other = await tx.assignment.findFirst({
      where: { userId: input.userId, projectId: a.projectId, status: "active", expiresAt: { gt: now } },
      select: { id: true },
    });
    if (other) throw new DomainError("conflict", "You already hold another comparison in this project; finish or skip it first.");
    const bumped = await tx.$executeRaw`
      UPDATE "Comparison" SET "leaseCount" = "leaseCount" + 1
      WHERE id = ${a.comparisonId} AND status = 'open'
        AND ("isGold" OR "judgmentCount" + "leaseCount" < ${project.overlap})`;
    if (bumped !== 1) {
      throw new DomainError("gone", "Someone else has taken this comparison in the meantime, so it cannot be resumed. Your draft is discarded when you move on.");
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
    assignment: await buildView(db, result.a, result.project),
    resumed: true,
  };
}

export const SkipReason = ["not_sure", "too_long", "language", "other"] as const;
export type SkipReason = (typeof SkipReason)[number];

export const FlagKind = ["unsafe", "private", "broken"] as const;
export type FlagKind = (typeof FlagKind)[number];

/** Ends the lease without a judgment; the comparison returns to the pool for others. */
export async function skipAssignment(
  db: Db,
  input: { assignmentId: string; userId: string; reason: string },
  opts: { now?: Date } = {},
): Promise<{ status: "skipped" }> {
  const now = opts.now ?? new Date();
  await db.$transaction(async (tx) => {
    const a = await lockOwnAssignment(tx, input.assignmentId, input.userId);
    if (a.status === "skipped") return; // a retried skip
    if (a.status !== "active") throw new DomainError("conflict", `This assignment is already ${a.status}.`);
    await tx.assignment.update({ where: { id: a.id }, data: { status: "skipped", endedAt: now, skipReason: input.reason.slice(0, 500) } });
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
  if (!input.reason.trim()) throw new DomainError("bad_request", "Say briefly why you flag this item (the reason is required).");
  await db.$transaction(async (tx) => {
    const a = await lockOwnAssignment(tx, input.assignmentId, input.userId);
    if (a.status === "skipped") return;
    if (a.status !== "active") throw new DomainError("conflict", `This assignment is already ${a.status}.`);
    await tx.assignment.update({
      where: { id: a.id },
      data: { status: "skipped", endedAt: now, skipReason: `flag:${input.flag}: ${input.reason.slice(0, 500)}` },
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
export async function listAnnotatorProjects(db: Db, userId: string) {
  const projects = await db.project.findMany({
    where: { archived: false },
    select: { id: true, slug: true, name: true, labelSchema: true, overlap: true },
    orderBy: { createdAt: "asc" },
  });
  const open = await db.$queryRaw<Array<{ projectId: string; open: number }>>`
    SELECT c."projectId", count(*)::int AS open FROM "Comparison" c
    JOIN "Project" p ON p.id = c."projectId"
    WHERE c.status = 'open' AND (c."isGold" OR c."judgmentCount" + c."leaseCount" < p.overlap)
      AND NOT EXISTS (SELECT 1 FROM "Assignment" a WHERE a."comparisonId" = c.id AND a."userId" = ${userId})
    GROUP BY 1`;
  const byProject = new Map(open.map((r) => [r.projectId, r.open]));
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
  const p = await db.project.findFirst({
    where: { OR: [{ id: projectIdOrSlug }, { slug: projectIdOrSlug }] },
    select: { id: true, slug: true, name: true, instructions: true, labelSchema: true, settings: true, archived: true },
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
