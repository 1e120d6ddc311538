// The home page: what the signed-in person can do next, by role.
import Link from "next/link";
import { requirePageUser } from "@/server/auth/session";
import { db } from "@/server/db/client";
import { hasRole } from "@/server/auth/roles";
import { projectIdsWithRole } from "@/server/auth/access";
import { plural } from "@/components/plural";

const ROLE_NAMES = { annotator: "annotators", reviewer: "reviewers and admins", admin: "admins" } as const;

export default async function Home({
  searchParams,
}: {
  searchParams: Promise<{ denied?: string; from?: string }>;
}) {
  const user = await requirePageUser("annotator");
  const mine = await projectIdsWithRole(user);
  const { denied, from } = await searchParams;
  const deniedRole = denied && denied in ROLE_NAMES ? (denied as keyof typeof ROLE_NAMES) : null;
  const projects = await db().project.findMany({
    where: { archived: false, ...(mine === "all" ? {} : { id: { in: mine } }) },
    orderBy: { createdAt: "asc" },
    select: { id: true, slug: true, name: true },
  });
  const openCounts = await db().comparison.groupBy({
    by: ["projectId"],
    where: { status: "open" },
    _count: { _all: true },
  });
  const open = new Map(openCounts.map((c) => [c.projectId, c._count._all]));
  const today = new Date();
  today.setHours(0, 0, 0, 0);
  const doneToday = await db().judgment.count({ where: { userId: user.id, createdAt: { gte: today } } });
  return (
    <div data-testid={`home-${user.role}`} className="flex flex-col gap-6">
      {deniedRole && (
        <p
          role="alert"
          className="rounded border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900"
          data-testid="access-denied"
        >
          {from ? (
            <>
              <code className="break-all">{from}</code> is only for {ROLE_NAMES[deniedRole]}
            </>
          ) : (
            <>That page is only for {ROLE_NAMES[deniedRole]}</>
          )}
          ; you are signed in as {user.name} ({user.role}). Ask an admin if you need access.
        </p>
      )}
      <section>
        <h1 className="text-2xl font-semibold">Welcome, {user.name}</h1>
        <p className="text-slate-600" data-testid="home-done-today">
          You have judged {doneToday} comparison{doneToday === 1 ? "" : "s"} today.
        </p>
      </section>
      <section aria-labelledby="projects-heading">
        <h2 id="projects-heading" className="mb-2 text-lg font-semibold">
          Projects
        </h2>
        <ul className="grid gap-3 sm:grid-cols-2">
          {projects.map((p) => (
            <li
              key={p.id}
              className="rounded-lg border border-slate-200 bg-white p-4"
              data-testid="home-project"
            >
              <div className="font-medium">{p.name}</div>
              <div className="text-sm text-slate-600">{plural(open.get(p.id) ?? 0, "comparison")} open</div>
              <Link
                href={`/annotate/${p.slug}`}
                className="mt-2 inline-block rounded bg-slate-900 px-3 py-1.5 text-sm text-white"
                data-testid={`start-${p.slug}`}
              >
                Start judging
              </Link>
            </li>
          ))}
          {projects.length === 0 && (
            <li className="text-slate-600">
              No projects yet.
              {hasRole(user, "admin") ? " Create one under Admin." : " Ask an admin to add you to one."}
            </li>
          )}
        </ul>
      </section>
      {hasRole(user, "reviewer") && (
        <section className="flex gap-3 text-sm">
          <Link href="/review" className="underline">
            Review queue
          </Link>
          {hasRole(user, "admin") && (
            <Link href="/admin" className="underline">
              Admin
            </Link>
          )}
        </section>
      )}
    </div>
  );
}
