// API tokens for scripts: `Authorization: Bearer pw_<prefix>_<secret>`. Only a sha256 of the
// token is stored; the token itself is shown once, when created.
import crypto from "node:crypto";
import { db } from "../db/client";
import { DomainError } from "../errors";
import type { SessionUser } from "./roles";

export const SCOPES = ["read", "write", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

export function hashToken(token: string): string {
  return crypto.createHash("sha256").update(token).digest("hex");
}

export async function createApiToken(input: { userId: string; name: string; scopes: Scope[]; expiresAt?: Date }) {
  if (!input.scopes.length) throw new DomainError("bad_request", "Give the token at least one scope: read, write or admin.");
  const prefix = crypto.randomBytes(4).toString("hex");
  const token = `pw_${prefix}_${crypto.randomBytes(24).toString("base64url")}`;
  const record = await db().apiToken.create({
    data: { userId: input.userId, name: input.name, prefix, tokenHash: hashToken(token), scopes: input.scopes, expiresAt: input.expiresAt },
  });
  return { token, record };
}

export async function revokeApiToken(id: string, byUserId?: string) {
  const t = await db().apiToken.findUnique({ where: { id } });
  if (!t || (byUserId && t.userId !== byUserId)) throw new DomainError("not_found", `No token ${id}.`);
  return db().apiToken.update({ where: { id }, data: { revokedAt: new Date() } });
}

export interface BearerAuth {
  user: SessionUser;
  scopes: Scope[];
  tokenId: string;
}

/** Resolve `Authorization: Bearer ...` to its user and scopes; null when absent or invalid. */
export async function authenticateBearer(req: Request | { headers: Headers } | string | null | undefined): Promise<BearerAuth | null> {
  const header = typeof req === "string" ? req : req?.headers.get("authorization");
  const m = header?.match(/^Bearer\s+(\S+)$/i);
  if (!m) return null;
  const t = await db().apiToken.findUnique({ where: { tokenHash: hashToken(m[1]!) }, include: { user: true } });
  if (!t || t.revokedAt || (t.expiresAt && t.expiresAt < new Date()) || !t.user.active) return null;
  // Cheap enough per request; keeps "last used" honest without a write on every call.
  if (!t.lastUsedAt || Date.now() - t.lastUsedAt.getTime() > 60_000) {
    await db().apiToken.update({ where: { id: t.id }, data: { lastUsedAt: new Date() } });
  }
  const { id, email, name, role } = t.user;
  return { user: { id, email, name, role }, scopes: t.scopes.filter((s): s is Scope => (SCOPES as readonly string[]).includes(s)), tokenId: t.id };
}

/** admin implies write implies read. */
export function hasScope(auth: Pick<BearerAuth, "scopes">, needed: Scope): boolean {
  const rank = (s: Scope) => SCOPES.indexOf(s);
  return auth.scopes.some((s) => rank(s) >= rank(needed));
}
