import Link from "next/link";
import type { SessionUser } from "@/server/auth/roles";
import { SignOutButton } from "./sign-out-button";

const links: Array<{ href: string; label: string; role: SessionUser["role"] }> = [
  { href: "/", label: "Home", role: "annotator" },
  { href: "/annotate", label: "Annotate", role: "annotator" },
  { href: "/review", label: "Review", role: "reviewer" },
  { href: "/admin", label: "Admin", role: "admin" },
  { href: "/admin/judges", label: "Judges", role: "admin" },
  { href: "/admin/training", label: "Training", role: "admin" },
  { href: "/admin/health", label: "Health", role: "admin" },
  { href: "/admin/audit", label: "Audit", role: "admin" },
];
const rank = { annotator: 0, reviewer: 1, admin: 2 } as const;

export function Nav({ user }: { user: SessionUser | null }) {
  return (
    <header className="border-b border-slate-200 bg-white">
      <nav
        aria-label="Main"
        className="mx-auto flex max-w-7xl flex-wrap items-center gap-x-4 gap-y-1 px-4 py-2"
      >
        <Link href="/" className="font-semibold text-slate-900">
          Pairwise
        </Link>
        {user &&
          links
            .filter((l) => rank[user.role] >= rank[l.role])
            .map((l) => (
              <Link
                key={l.href}
                href={l.href}
                className="text-sm text-slate-700 hover:text-slate-950"
                data-testid={`nav-${l.label.toLowerCase()}`}
              >
                {l.label}
              </Link>
            ))}
        <div className="ml-auto flex min-w-0 items-center gap-3 text-sm whitespace-nowrap">
          {user ? (
            <>
              <span
                data-testid="nav-user"
                className="max-w-[12rem] truncate text-slate-600"
                title={`${user.name} · ${user.role}`}
              >
                {user.name} · {user.role}
              </span>
              <SignOutButton />
            </>
          ) : (
            <Link href="/login">Sign in</Link>
          )}
        </div>
      </nav>
    </header>
  );
}
