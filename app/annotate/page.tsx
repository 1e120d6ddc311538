// /annotate - the projects an annotator can work on, with what is left for them.
import Link from "next/link";
import { requirePageUser } from "@/server/auth/session";
import { db } from "@/server/db/client";
import { listAnnotatorProjects } from "@/server/annotation/queue";
import { projectIdsWithRole } from "@/server/auth/access";

export default async function AnnotateIndex() {
  const user = await requirePageUser("annotator", "/annotate");
  const mine = await projectIdsWithRole(user);
  const projects = (await listAnnotatorProjects(db(), user.id)).filter(
    (p) => mine === "all" || mine.includes(p.id),
  );
  return (
    <div className="flex flex-col gap-4" data-testid="annotate-index">
      <h1 className="text-2xl font-semibold">Annotate</h1>
      <ul className="grid gap-3 sm:grid-cols-2">
        {projects.map((p) => (
          <li key={p.id} className="rounded-lg border border-slate-200 bg-white p-4">
            <div className="font-medium">{p.name}</div>
            <div className="text-sm text-slate-600">
              {p.kind === "ranking" ? "Ranking" : "Pairwise"} · {p.available} available to you
            </div>
            <Link
              href={`/annotate/${p.slug}`}
              className="mt-2 inline-block rounded bg-slate-900 px-3 py-1.5 text-sm text-white"
              data-testid={`annotate-${p.slug}`}
            >
              Start judging
            </Link>
          </li>
        ))}
        {projects.length === 0 && (
          <li className="text-slate-600">No projects for you yet: an admin adds you to projects.</li>
        )}
      </ul>
    </div>
  );
}
