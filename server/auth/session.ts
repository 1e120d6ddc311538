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

/** For pages: send visitors to the login page, and people without the role home. */
export async function requirePageUser(role: Role = "annotator"): Promise<SessionUser> {
  const user = await getSessionUser();
  if (!user) redirect("/login");
  if (!hasRole(user, role)) redirect("/?denied=" + role);
  return user;
}
