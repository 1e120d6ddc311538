// /admin - every project at a glance: comparisons by status, judgments by source, live leases.
import Link from "next/link";
import { requirePageUser } from "@/server/auth/session";
import { db } from "@/server/db/client";
import { projectSummaries } from "@/server/annotation/dashboard";

export default async function AdminHome() {
  await requirePageUser("admin", "/admin");
  const projects = await projectSummaries(db());
  return (
    <div className="flex flex-col gap-4" data-testid="admin-home">
      <div className="flex flex-wrap items-baseline gap-4">
        <h1 className="text-2xl font-semibold">Admin</h1>
        <Link
          href="/admin/projects/new"
          className="rounded bg-slate-900 px-3 py-1.5 text-sm text-white"
          data-testid="new-project"
        >
          New project
        </Link>
        <Link
          href="/admin/people"
          className="text-sm text-blue-700 underline"
          data-testid="admin-people-link"
        >
          People
        </Link>
        <Link href="/admin/data" className="text-sm text-blue-700 underline">
          Import / export
        </Link>
      </div>
      <table className="w-full border-collapse bg-white text-sm">
        <caption className="sr-only">Projects</caption>
        <thead>
          <tr className="border-b text-left">
            <th className="p-2">Project</th>
            <th className="p-2">Open</th>
            <th className="p-2">Complete</th>
            <th className="p-2">Review</th>
            <th className="p-2">Flagged</th>
            <th className="p-2">Human judgments</th>
            <th className="p-2">AI judgments</th>
            <th className="p-2">Pairs</th>
            <th className="p-2">Leases now</th>
            <th className="p-2"></th>
          </tr>
        </thead>
        <tbody>
          {projects.map((p) => (
            <tr key={p.id} className="border-b" data-testid={`summary-${p.slug}`}>
              <td className="p-2 font-medium">
                <Link href={`/admin/projects/${p.slug}`} className="text-blue-700 underline">
                  {p.name}
                </Link>
              </td>
              <td className="p-2" data-testid={`summary-${p.slug}-open`}>
                {p.comparisons.open}
              </td>
              <td className="p-2" data-testid={`summary-${p.slug}-complete`}>
                {p.comparisons.complete}
              </td>
              <td className="p-2">{p.comparisons.review}</td>
              <td className="p-2">{p.comparisons.flagged}</td>
              <td className="p-2" data-testid={`summary-${p.slug}-human`}>
                {p.judgments.human}
              </td>
              <td className="p-2">{p.judgments.ai}</td>
              <td className="p-2">{p.activePairs}</td>
              <td className="p-2">{p.activeLeases}</td>
              <td className="p-2">
                <Link
                  href={`/admin/projects/${p.slug}/dashboard`}
                  className="text-blue-700 underline"
                  data-testid={`dashboard-${p.slug}`}
                >
                  Dashboard
                </Link>
              </td>
            </tr>
          ))}
          {projects.length === 0 && (
            <tr>
              <td colSpan={10} className="p-3 text-slate-600">
                No projects yet: create one, then import prompts and completions.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
