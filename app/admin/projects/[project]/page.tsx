// /admin/projects/[project] - edit a project (instructions, label schema, overlap, gold ratio...).
import Link from "next/link";
import { notFound } from "next/navigation";
import { requirePageUser } from "@/server/auth/session";
import { db } from "@/server/db/client";
import { findProjectByRef, projectView } from "@/server/projects/projects";
import { ProjectForm, type ProjectFormValue } from "@/components/admin/project-form";

export default async function EditProjectPage({ params }: { params: Promise<{ project: string }> }) {
  const { project: ref } = await params;
  await requirePageUser("admin", `/admin/projects/${ref}`);
  const row = await findProjectByRef(db(), decodeURIComponent(ref));
  if (!row) notFound();
  const p = projectView(row);
  const s = p.labelSchema;
  const initial: ProjectFormValue = {
    slug: p.slug,
    name: p.name,
    instructions: p.instructions,
    kind: s.kind,
    strength: s.kind === "pairwise" ? s.strength : true,
    allowTie: s.kind === "pairwise" ? s.allowTie : true,
    allowBothBad: s.kind === "pairwise" ? s.allowBothBad : true,
    judgeReasoningSeparately: s.kind === "pairwise" ? s.judgeReasoningSeparately : false,
    allowTies: s.kind === "ranking" ? s.allowTies : true,
    allowPartial: s.kind === "ranking" ? s.allowPartial : true,
    rationale: s.rationale,
    axes: s.axes,
    overlap: p.overlap,
    goldRatio: p.goldRatio,
    revealModelsAfterVote: p.settings.revealModelsAfterVote,
    leaseSeconds: p.settings.leaseSeconds,
    reviewAgreementBelow: p.settings.reviewAgreementBelow,
    archived: p.archived,
  };
  return (
    <div className="flex flex-col gap-4">
      <div className="flex items-baseline gap-4">
        <h1 className="text-2xl font-semibold">{p.name}</h1>
        <Link href={`/admin/projects/${p.slug}/dashboard`} className="text-sm text-blue-700 underline">
          Dashboard
        </Link>
        <Link href={`/admin/data?project=${p.slug}`} className="text-sm text-blue-700 underline">
          Import / export
        </Link>
      </div>
      <ProjectForm initial={initial} existing />
    </div>
  );
}
