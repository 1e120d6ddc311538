import "server-only";
import { getServerSession } from "next-auth";
import { redirect } from "next/navigation";
import { authOptions } from "./options";
import { loadSessionUser } from "./users";
import { hasRole, type Role, type SessionUser } from "./roles";

/** The signed-in user in a server component, route handler or tRPC context; null if none. */
export async function getSessionUser(): Promise<SessionUser | null> {
  const session = (await getServerSession(authOptions())) as { uid?: string } | null;
  if (!session?.uid) return null;
  return loadSessionUser(session.uid);
}

/**
 * For pages: send visitors to the login page (which brings them back to `path` after signing in),
 * and people without the role home, where a notice says which page needs which role.
 */
export async function requirePageUser(role: Role = "annotator", path = "/"): Promise<SessionUser> {
  const user = await getSessionUser();
  const back = encodeURIComponent(path);
  if (!user) redirect(path === "/" ? "/login" : `/login?callbackUrl=${back}`);
  if (!hasRole(user, role)) redirect(`/?denied=${role}&from=${back}`);
  return user;
}

/** A same-site path to go back to after signing in, or "/" (never another site: no "//host"). */
export function safeCallbackPath(p: string | undefined | null): string {
  return p && p.startsWith("/") && !p.startsWith("//") && !p.startsWith("/\\") ? p : "/";
}
