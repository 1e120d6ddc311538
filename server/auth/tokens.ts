// API tokens for scripts: `Authorization: Bearer pw_<prefix>_<secret>`. Only a sha256 of the
// token is stored; the token itself is shown once, when created.
import crypto from "node:crypto";
import { db } from "../db/client";
import { DomainError } from "../errors";
import type { SessionUser } from "./roles";
import { audit } from "../audit/audit";
import { clientIp, enforce } from "./rate-limit";

export const SCOPES = ["read", "write", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

export function hashToken(token: string): string {
  return crypto.createHash("sha256").update(token).digest("hex");
}

export async function createApiToken(input: {
  userId: string;
  name: string;
  scopes: Scope[];
  expiresAt?: Date;
  /** A token for an AI judge: the only kind that may record `source: "ai"` judgments, for this judge. */
  judgeConfigId?: string;
  /** Who issued it, for the audit log (null: the command line). */
  actorId?: string | null;
}) {
  if (!input.scopes.length)
    throw new DomainError("bad_request", "Give the token at least one scope: read, write or admin.");
  if (input.judgeConfigId) {
    const judge = await db().judgeConfig.findUnique({
      where: { id: input.judgeConfigId },
      select: { id: true },
    });
    if (!judge)
      throw new DomainError("not_found", `No judge ${input.judgeConfigId}; list judges on Admin → Judges.`);
  }
  const prefix = crypto.randomBytes(4).toString("hex");
  const token = `pw_${prefix}_${crypto.randomBytes(24).toString("base64url")}`;
  const record = await db().apiToken.create({
    data: {
      userId: input.userId,
      name: input.name,
      prefix,
      tokenHash: hashToken(token),
      scopes: input.scopes,
      expiresAt: input.expiresAt,
      judgeConfigId: input.judgeConfigId ?? null,
    },
  });
  await audit(db(), {
    actorId: input.actorId ?? input.userId,
    action: "token.create",
    target: record.id,
    data: { userId: input.userId, scopes: input.scopes, judgeConfigId: input.judgeConfigId ?? null },
  });
  return { token, record };
}

export async function revokeApiToken(id: string, byUserId?: string, opts: { actorId?: string | null } = {}) {
  const t = await db().apiToken.findUnique({ where: { id } });
  if (!t || (byUserId && t.userId !== byUserId)) throw new DomainError("not_found", `No token ${id}.`);
  const out = await db().apiToken.update({ where: { id }, data: { revokedAt: new Date() } });
  forgetCachedTokens(id);
  await audit(db(), {
    actorId: opts.actorId === undefined ? (byUserId ?? null) : opts.actorId,
    action: "token.revoke",
    target: id,
    data: { userId: t.userId },
  });
  return out;
}

export interface BearerAuth {
  user: SessionUser;
  scopes: Scope[];
  tokenId: string;
  /** Set on a token issued for an AI judge (server/api/judgments.ts). */
  judgeConfigId: string | null;
}

// Resolved tokens are kept for a few seconds per process, so a busy script (or the annotation
// benchmark's 200 annotators) costs no lookup per request. A token revoked here stops working at
// once; one revoked or a user deactivated from another process (the CLI) within TOKEN_CACHE_MS.
const TOKEN_CACHE_MS = 5_000;
const tokenCache = new Map<string, { auth: BearerAuth; expiresAt: Date | null; at: number }>();

/** Forget cached tokens (all, or one token id): after a revocation or a user's deactivation. */
export function forgetCachedTokens(tokenId?: string): void {
  if (!tokenId) return tokenCache.clear();
  for (const [k, v] of tokenCache) if (v.auth.tokenId === tokenId) tokenCache.delete(k);
}

/** Resolve `Authorization: Bearer ...` to its user and scopes; null when absent or invalid. */
export async function authenticateBearer(
  req: Request | { headers: Headers } | string | null | undefined,
): Promise<BearerAuth | null> {
  const header = typeof req === "string" ? req : req?.headers.get("authorization");
  const m = header?.match(/^Bearer\s+(\S+)$/i);
  if (!m) return null;
  // Abuse limits (server/auth/rate-limit.ts): a 429 DomainError when over.
  const ip = typeof req === "string" ? "unknown" : clientIp(req?.headers);
  const hash = hashToken(m[1]!);
  const hit = tokenCache.get(hash);
  if (hit && Date.now() - hit.at < TOKEN_CACHE_MS && !(hit.expiresAt && hit.expiresAt < new Date())) {
    await enforce(
      [
        ["token.account", hit.auth.user.id],
        ["token.ip", ip],
      ],
      "API requests",
    );
    return hit.auth;
  }
  tokenCache.delete(hash);
  const t = await db().apiToken.findUnique({ where: { tokenHash: hash }, include: { user: true } });
  if (!t || t.revokedAt || (t.expiresAt && t.expiresAt < new Date()) || !t.user.active) {
    await enforce([["token.invalid_ip", ip]], "requests with an invalid API token");
    return null;
  }
  await enforce(
    [
      ["token.account", t.user.id],
      ["token.ip", ip],
    ],
    "API requests",
  );
  // Cheap enough per lookup; keeps "last used" honest without a write on every call.
  if (!t.lastUsedAt || Date.now() - t.lastUsedAt.getTime() > 60_000) {
    await db().apiToken.update({ where: { id: t.id }, data: { lastUsedAt: new Date() } });
  }
  const { id, email, name, role } = t.user;
  const auth: BearerAuth = {
    user: { id, email, name, role },
    scopes: t.scopes.filter((s): s is Scope => (SCOPES as readonly string[]).includes(s)),
    tokenId: t.id,
    judgeConfigId: t.judgeConfigId,
  };
  if (tokenCache.size > 10_000) tokenCache.clear();
  tokenCache.set(hash, { auth, expiresAt: t.expiresAt, at: Date.now() });
  return auth;
}

/** admin implies write implies read. */
export function hasScope(auth: Pick<BearerAuth, "scopes">, needed: Scope): boolean {
  const rank = (s: Scope) => SCOPES.indexOf(s);
  return auth.scopes.some((s) => rank(s) >= rank(needed));
}
