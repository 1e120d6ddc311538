// People: invite by link, accept (name + password), roles, deactivation. Only a sha256 of an
// invite token is stored; the link is shown once, to the admin who made it.
import "server-only";
import crypto from "node:crypto";
import type { Db } from "@/server/db/client";
import { toSql } from "@/server/db/sql";
import { DomainError } from "@/server/errors";
import { hashPassword, MIN_PASSWORD_LENGTH } from "@/server/auth/password";
import { forgetCachedTokens, hashToken } from "@/server/auth/tokens";
import type { Role } from "@/server/auth/roles";

/**
 * Everyone, with their standing human judgments: the per-project counters 'hu|<userId>' that a
 * trigger keeps (migration 20261204173000), summed over projects. Deltas are folded in first
 * (what is left belongs to deleted projects, whose judgments' removal they record).
 */
export async function listPeople(db: Db) {
  const sql = toSql(db);
  await sql.query(`SELECT count(pw_stat_compact(id))::int AS n FROM "Project"`);
  const [users, counts] = await Promise.all([
    db.user.findMany({
      orderBy: { createdAt: "asc" },
      select: {
        id: true,
        email: true,
        name: true,
        role: true,
        active: true,
        createdAt: true,
        lastLoginAt: true,
      },
    }),
    sql.query<{ userId: string; n: string | number }>(
      `SELECT substr(key, 4) AS "userId", sum(n) AS n FROM (
         SELECT key, n FROM "StatCell" WHERE starts_with(key, 'hu|')
         UNION ALL
         SELECT key, n FROM "StatDelta" WHERE starts_with(key, 'hu|')) x
       GROUP BY 1`,
    ),
  ]);
  const n = new Map(counts.map((c) => [c.userId, Number(c.n)]));
  return users.map((u) => ({ ...u, judgments: n.get(u.id) ?? 0 }));
}

export async function listInvites(db: Db) {
  const rows = await db.invite.findMany({
    orderBy: { createdAt: "desc" },
    take: 100,
    select: {
      id: true,
      email: true,
      role: true,
      expiresAt: true,
      usedAt: true,
      createdAt: true,
      createdBy: { select: { name: true } },
    },
  });
  const now = Date.now();
  return rows.map((r) => ({
    ...r,
    state: r.usedAt ? "used" : r.expiresAt.getTime() < now ? "expired" : "open",
  }));
}

export async function createInvite(
  db: Db,
  adminId: string,
  input: { email?: string; role: Role; expiresInDays?: number },
) {
  const email = input.email?.trim().toLowerCase() || null;
  if (email && !/^[^@\s]+@[^@\s]+$/.test(email))
    throw new DomainError("bad_request", `"${input.email}" is not an email address.`);
  if (email && (await db.user.findUnique({ where: { email }, select: { id: true } }))) {
    throw new DomainError(
      "conflict",
      `${email} already has an account; change their role under People instead.`,
    );
  }
  const token = crypto.randomBytes(24).toString("base64url");
  const days = input.expiresInDays ?? 7;
  const invite = await db.invite.create({
    data: {
      tokenHash: hashToken(token),
      email,
      role: input.role,
      createdById: adminId,
      expiresAt: new Date(Date.now() + days * 86_400_000),
    },
    select: { id: true, email: true, role: true, expiresAt: true },
  });
  await db.auditLog.create({
    data: { actorId: adminId, action: "invite.create", target: invite.id, data: { email, role: input.role } },
  });
  return { ...invite, token, path: `/invite/${token}` };
}

export async function revokeInvite(db: Db, adminId: string, inviteId: string) {
  const n = await db.invite.updateMany({
    where: { id: inviteId, usedAt: null },
    data: { expiresAt: new Date() },
  });
  if (n.count !== 1) throw new DomainError("not_found", "No open invite with this id.");
  await db.auditLog.create({ data: { actorId: adminId, action: "invite.revoke", target: inviteId } });
}

/** What the invite page shows before the person accepts; never throws for a bad token. */
export async function inviteInfo(db: Db, token: string) {
  const inv = await db.invite.findUnique({
    where: { tokenHash: hashToken(token) },
    select: { email: true, role: true, expiresAt: true, usedAt: true },
  });
  if (!inv)
    return {
      valid: false as const,
      reason: "This invite link is not valid. Ask the admin who invited you for a new one.",
    };
  if (inv.usedAt)
    return {
      valid: false as const,
      reason: "This invite has already been used. Sign in instead, or ask for a new invite.",
    };
  if (inv.expiresAt < new Date())
    return {
      valid: false as const,
      reason: "This invite has expired. Ask the admin who invited you for a new one.",
    };
  return { valid: true as const, email: inv.email, role: inv.role };
}

export async function acceptInvite(
  db: Db,
  input: { token: string; name: string; email?: string; password: string },
) {
  const name = input.name.trim();
  if (!name) throw new DomainError("bad_request", "Enter your name.");
  if (input.password.length < MIN_PASSWORD_LENGTH)
    throw new DomainError("bad_request", `Choose a password of at least ${MIN_PASSWORD_LENGTH} characters.`);
  const passwordHash = await hashPassword(input.password);
  return db.$transaction(async (tx) => {
    const rows = await tx.$queryRaw<
      Array<{ id: string; email: string | null; role: Role; expiresAt: Date; usedAt: Date | null }>
    >`
      SELECT id, email, role, "expiresAt", "usedAt" FROM "Invite" WHERE "tokenHash" = ${hashToken(input.token)} FOR UPDATE`;
    const inv = rows[0];
    if (!inv)
      throw new DomainError(
        "not_found",
        "This invite link is not valid. Ask the admin who invited you for a new one.",
      );
    if (inv.usedAt) throw new DomainError("gone", "This invite has already been used. Sign in instead.");
    if (inv.expiresAt < new Date())
      throw new DomainError("gone", "This invite has expired. Ask for a new one.");
    const email = (inv.email ?? input.email ?? "").trim().toLowerCase();
    if (!/^[^@\s]+@[^@\s]+$/.test(email))
      throw new DomainError("bad_request", "Enter the email address you will sign in with.");
    if (await tx.user.findUnique({ where: { email }, select: { id: true } })) {
      throw new DomainError("conflict", `${email} already has an account; sign in instead.`);
    }
    const user = await tx.user.create({
      data: { email, name, role: inv.role, passwordHash },
      select: { id: true, email: true, name: true, role: true },
    });
    await tx.invite.update({ where: { id: inv.id }, data: { usedAt: new Date(), usedById: user.id } });
    await tx.auditLog.create({
      data: { actorId: user.id, action: "invite.accept", target: inv.id, data: { email } },
    });
    return user;
  });
}

async function otherActiveAdmins(db: Db, userId: string): Promise<number> {
  return db.user.count({ where: { role: "admin", active: true, id: { not: userId } } });
}

export async function setRole(db: Db, adminId: string, input: { userId: string; role: Role }) {
  const u = await db.user.findUnique({ where: { id: input.userId }, select: { role: true } });
  if (!u) throw new DomainError("not_found", "No such user.");
  if (u.role === "admin" && input.role !== "admin" && (await otherActiveAdmins(db, input.userId)) === 0) {
    throw new DomainError("conflict", "This is the last active admin; make someone else an admin first.");
  }
  const updated = await db.user.update({
    where: { id: input.userId },
    data: { role: input.role },
    select: { id: true, role: true },
  });
  await db.auditLog.create({
    data: {
      actorId: adminId,
      action: "user.role",
      target: input.userId,
      data: { from: u.role, to: input.role },
    },
  });
  forgetCachedTokens(); // tokens carry the role; other processes see it within seconds
  return updated;
}

export async function setActive(db: Db, adminId: string, input: { userId: string; active: boolean }) {
  const u = await db.user.findUnique({ where: { id: input.userId }, select: { role: true, active: true } });
  if (!u) throw new DomainError("not_found", "No such user.");
  if (!input.active && input.userId === adminId)
    throw new DomainError("conflict", "You cannot deactivate yourself.");
  if (!input.active && u.role === "admin" && (await otherActiveAdmins(db, input.userId)) === 0) {
    throw new DomainError("conflict", "This is the last active admin; make someone else an admin first.");
  }
  const updated = await db.$transaction(async (tx) => {
    const r = await tx.user.update({
      where: { id: input.userId },
      data: { active: input.active },
      select: { id: true, active: true },
    });
    if (!input.active) {
      // Their leases go back to the pool now rather than at expiry; their API tokens stop working.
      const leases = await tx.assignment.findMany({
        where: { userId: input.userId, status: "active" },
        select: { id: true, comparisonId: true },
      });
      for (const l of leases) {
        await tx.assignment.update({ where: { id: l.id }, data: { status: "expired", endedAt: new Date() } });
        await tx.$executeRaw`UPDATE "Comparison" SET "leaseCount" = GREATEST("leaseCount" - 1, 0) WHERE id = ${l.comparisonId}`;
      }
      await tx.apiToken.updateMany({
        where: { userId: input.userId, revokedAt: null },
        data: { revokedAt: new Date() },
      });
    }
    return r;
  });
  await db.auditLog.create({
    data: {
      actorId: adminId,
      action: input.active ? "user.activate" : "user.deactivate",
      target: input.userId,
    },
  });
  forgetCachedTokens();
  return updated;
}
