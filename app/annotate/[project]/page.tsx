// /annotate/[project] - the judging session for one project (by slug or id).
import { notFound } from "next/navigation";
import { requirePageUser } from "@/server/auth/session";
import { db } from "@/server/db/client";
import { annotatorProject } from "@/server/annotation/queue";
import { isDomainError } from "@/server/errors";
import { projectRole } from "@/server/auth/access";
import { AnnotateSession } from "@/components/annotate/annotate-session";

export default async function AnnotateProject({ params }: { params: Promise<{ project: string }> }) {
  const { project: ref } = await params;
  const user = await requirePageUser("annotator", `/annotate/${ref}`);
  const project = await annotatorProject(db(), decodeURIComponent(ref)).catch((e) => {
    if (isDomainError(e) && e.code === "not_found") notFound();
    throw e;
  });
  if (!(await projectRole(user, project.id))) {
    return (
      <p className="text-slate-600" data-testid="not-a-member">
        You are not a member of this project; ask an admin to add you.
      </p>
    );
  }
  if (project.archived) {
    return <p className="text-slate-600">This project is archived; it no longer takes judgments.</p>;
  }
  return <AnnotateSession project={project} />;
}
