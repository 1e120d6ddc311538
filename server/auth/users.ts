import { db } from "../db/client";
import { DomainError } from "../errors";
import { hashPassword, verifyPassword } from "./password";
import type { Role, SessionUser } from "./roles";
import { audit } from "../audit/audit";

export async function createUser(input: { email: string; name: string; password?: string; role: Role }) {
  const email = input.email.trim().toLowerCase();
  if (!/^[^@\s]+@[^@\s]+$/.test(email))
    throw new DomainError("bad_request", `"${input.email}" is not an email address.`);
  const existing = await db().user.findUnique({ where: { email } });
  if (existing) throw new DomainError("conflict", `A user with email ${email} already exists.`);
  const user = await db().user.create({
    data: {
      email,
      name: input.name,
      role: input.role,
      passwordHash: input.password ? await hashPassword(input.password) : null,
    },
  });
  await audit(db(), {
    actorId: null,
    action: "user.create",
    target: user.id,
    data: { email, role: input.role },
  });
  return user;
}

/** Check an email + password; null on any mismatch (never says which part was wrong). */
export async function checkCredentials(email: string, password: string): Promise<SessionUser | null> {
  const u = await db().user.findUnique({
    where: { email: email.trim().toLowerCase() },
    select: { id: true, email: true, name: true, role: true, active: true, passwordHash: true },
  });
  const ok = await verifyPassword(
    password,
    u?.passwordHash ?? "$2a$10$invalidinvalidinvalidinvalidinvalidinvalidinvalidinva",
  );
  if (!u || !ok || !u.active) return null;
  await db().user.update({ where: { id: u.id }, data: { lastLoginAt: new Date() } });
  return { id: u.id, email: u.email, name: u.name, role: u.role };
}

/** The command line's role change (the People page uses server/annotation/people.ts); audited. */
export async function setUserRole(userId: string, role: Role, actorId: string | null = null) {
  const before = await db().user.findUnique({ where: { id: userId }, select: { role: true } });
  const out = await db().user.update({ where: { id: userId }, data: { role } });
  await audit(db(), {
    actorId,
    action: "user.role",
    target: userId,
    data: { from: before?.role, to: role, via: "cli" },
  });
  return out;
}

export async function setUserActive(userId: string, active: boolean, actorId: string | null = null) {
  const out = await db().user.update({ where: { id: userId }, data: { active } });
  await audit(db(), {
    actorId,
    action: active ? "user.activate" : "user.deactivate",
    target: userId,
    data: { via: "cli" },
  });
  return out;
}

/** The current state of a signed-in user; null when deleted or deactivated since sign-in. */
export async function loadSessionUser(id: string): Promise<SessionUser | null> {
  const u = await db().user.findUnique({
    where: { id },
    select: { id: true, email: true, name: true, role: true, active: true },
  });
  if (!u || !u.active) return null;
  return { id: u.id, email: u.email, name: u.name, role: u.role };
}
