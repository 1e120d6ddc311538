// Roles, from least to most privileged. Each role can do what the ones before it can.
import { DomainError } from "../errors";

export const ROLES = ["annotator", "reviewer", "admin"] as const;
export type Role = (typeof ROLES)[number];

export interface SessionUser {
  id: string;
  email: string;
  name: string;
  role: Role;
}

export function hasRole(user: Pick<SessionUser, "role">, needed: Role): boolean {
  return ROLES.indexOf(user.role) >= ROLES.indexOf(needed);
}

export function requireRole<U extends Pick<SessionUser, "role">>(
  user: U | null | undefined,
  needed: Role,
): U {
  if (!user) throw new DomainError("unauthorized", "Sign in first.");
  if (!hasRole(user, needed))
    throw new DomainError("forbidden", `This needs the ${needed} role; ask an admin for access.`);
  return user;
}
