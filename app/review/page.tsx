// /review - comparisons waiting for a reviewer: no consensus, flagged, or gold items many fail.
import Link from "next/link";
import { requirePageUser } from "@/server/auth/session";
import { plural } from "@/components/plural";
import { db } from "@/server/db/client";
import { reviewQueue } from "@/server/annotation/review";
import { projectIdsWithRole } from "@/server/auth/access";

export default async function ReviewQueuePage({
  searchParams,
}: {
  searchParams: Promise<{ status?: string; after?: string }>;
}) {
  const user = await requirePageUser("reviewer", "/review");
  const sp = await searchParams;
  const status = sp.status === "review" || sp.status === "flagged" ? sp.status : undefined;
  const after = sp.after || undefined;
  const q = await reviewQueue(db(), {
    status,
    after,
    projectIds: await projectIdsWithRole(user, "reviewer"),
  });
  const next = q.nextCursor
    ? `/review?${new URLSearchParams({ ...(status ? { status } : {}), after: q.nextCursor })}`
    : null;
  return (
    <div className="flex flex-col gap-4" data-testid="review-queue">
      <h1 className="text-2xl font-semibold">Review</h1>
      <nav aria-label="Filter" className="flex gap-3 text-sm">
        <Link href="/review" className={!status ? "font-semibold" : "underline"}>
          All ({(q.counts.review ?? 0) + (q.counts.flagged ?? 0)})
        </Link>
        <Link
          href="/review?status=review"
          className={status === "review" ? "font-semibold" : "underline"}
          data-testid="review-count"
        >
          No consensus ({q.counts.review ?? 0})
        </Link>
        <Link
          href="/review?status=flagged"
          className={status === "flagged" ? "font-semibold" : "underline"}
          data-testid="flagged-count"
        >
          Flagged ({q.counts.flagged ?? 0})
        </Link>
      </nav>
      <table className="w-full border-collapse bg-white text-sm">
        <thead>
          <tr className="border-b text-left">
            <th className="p-2">Prompt</th>
            <th className="p-2">Project</th>
            <th className="p-2">Status</th>
            <th className="p-2">Votes</th>
            <th className="p-2">Agreement</th>
          </tr>
        </thead>
        <tbody>
          {q.items.map((i) => (
            <tr key={i.id} className="border-b" data-testid="review-row">
              <td className="max-w-md truncate p-2">
                <Link href={`/review/${i.id}`} className="text-blue-700 underline">
                  {i.promptPreview || i.id}
                </Link>
              </td>
              <td className="p-2">{i.project.name}</td>
              <td className="p-2">{i.status}</td>
              <td className="p-2">{i.judgmentCount}</td>
              <td className="p-2">{i.agreement === null ? "–" : `${Math.round(i.agreement * 100)}%`}</td>
            </tr>
          ))}
          {q.items.length === 0 && (
            <tr>
              <td colSpan={5} className="p-3 text-slate-600">
                Nothing waits for review.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {(after || next) && (
        <nav aria-label="Pages" className="flex gap-3 text-sm">
          {after && (
            <Link href={status ? `/review?status=${status}` : "/review"} className="underline">
              First page
            </Link>
          )}
          {next && (
            <Link href={next} className="underline" data-testid="review-next">
              Next page
            </Link>
          )}
        </nav>
      )}
      {q.goldFailures.length > 0 && (
        <section aria-labelledby="gold-fail" data-testid="gold-failures">
          <h2 id="gold-fail" className="mb-2 text-lg font-semibold">
            Check items many annotators fail
          </h2>
          <p className="mb-2 text-sm text-slate-600">
            Perhaps the known answer is wrong. A ruling on a check item replaces its known answer.
          </p>
          <ul className="list-disc pl-6 text-sm">
            {q.goldFailures.map((g) => (
              <li key={g.id}>
                <Link href={`/review/${g.id}`} className="text-blue-700 underline">
                  {g.projectName}: {g.failed} of {plural(g.checks, "check")} failed
                </Link>
              </li>
            ))}
          </ul>
        </section>
      )}
    </div>
  );
}
