// /admin/projects/new - create a project.
import { requirePageUser } from "@/server/auth/session";
import { NEW_PROJECT, ProjectForm } from "@/components/admin/project-form";

export default async function NewProjectPage() {
  await requirePageUser("admin", "/admin/projects/new");
  return (
    <div className="flex flex-col gap-4">
      <h1 className="text-2xl font-semibold">New project</h1>
      <ProjectForm initial={NEW_PROJECT} existing={false} />
    </div>
  );
}
