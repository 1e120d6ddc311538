// The audit log: who did what, when, to what. Written by the code that makes each change (role
// and membership changes, tokens, invites, exports, deletions, judge keys and URLs, checkpoint
// promotion, flags and rulings); read by admins on Admin → Audit, and exported as JSONL or CSV.
// Rows are only ever inserted. No "server-only" import: the CLI and the worker write here too.
import type { Prisma, PrismaClient } from "@prisma/client";

type Writer = PrismaClient | Prisma.TransactionClient;

export interface AuditEntry {
  /** The user who did it; null for the command line, the scheduler or the trainer. */
  actorId: string | null;
  /** What was done, as `thing.verb`: user.role, member.add, token.create, export.run ... */
  action: string;
  /** The id of what it was done to. */
  target?: string | null;
  data?: Record<string, unknown>;
}

export async function audit(db: Writer, e: AuditEntry): Promise<void> {
  await db.auditLog.create({
    data: {
      actorId: e.actorId,
      action: e.action,
      target: e.target ?? null,
      data: (e.data ?? {}) as Prisma.InputJsonValue,
    },
  });
}

export interface AuditQuery {
  /** An action, or a prefix ending in "." (e.g. "member."). */
  action?: string;
  actorId?: string;
  /** Entries before this id's entry (paging, newest first). */
  before?: Date;
  take?: number;
}

export async function listAudit(db: PrismaClient, q: AuditQuery = {}) {
  const rows = await db.auditLog.findMany({
    where: {
      ...(q.action
        ? q.action.endsWith(".")
          ? { action: { startsWith: q.action } }
          : { action: q.action }
        : {}),
      ...(q.actorId ? { actorId: q.actorId } : {}),
      ...(q.before ? { createdAt: { lt: q.before } } : {}),
    },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: Math.min(Math.max(q.take ?? 200, 1), 100_000),
  });
  const actorIds = [...new Set(rows.flatMap((r) => (r.actorId ? [r.actorId] : [])))];
  const actors = new Map(
    (await db.user.findMany({ where: { id: { in: actorIds } }, select: { id: true, email: true } })).map(
      (u) => [u.id, u.email],
    ),
  );
  return rows.map((r) => ({
    id: r.id,
    createdAt: r.createdAt.toISOString(),
    actorId: r.actorId,
    actor: r.actorId ? (actors.get(r.actorId) ?? r.actorId) : "system",
    action: r.action,
    target: r.target,
    data: r.data as Record<string, unknown>,
  }));
}

export type AuditRow = Awaited<ReturnType<typeof listAudit>>[number];

/** One JSON object per line. */
export function auditJsonl(rows: AuditRow[]): string {
  return rows.map((r) => JSON.stringify(r)).join("\n") + (rows.length ? "\n" : "");
}

const csvCell = (v: unknown): string => {
  const s = v === null || v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v);
  // Quote everything; a leading = + - @ is neutralised so spreadsheets do not run it as a formula.
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return `"${safe.replace(/"/g, '""')}"`;
};

/** RFC 4180 CSV with a header row. */
export function auditCsv(rows: AuditRow[]): string {
  const cols = ["createdAt", "actor", "actorId", "action", "target", "data"] as const;
  return [cols.join(","), ...rows.map((r) => cols.map((c) => csvCell(r[c])).join(","))].join("\r\n") + "\r\n";
}
