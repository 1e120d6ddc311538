// /admin/training - training rounds: run now, live progress, per-step and per-round charts,
// checkpoint lineage with gate reasons and data provenance, settings, and a side-by-side playground.
import { requirePageUser } from "@/server/auth/session";
import { TrainingAdmin } from "@/components/admin/training-admin";

export default async function TrainingPage({
  searchParams,
}: {
  searchParams: Promise<{ project?: string }>;
}) {
  const { project } = await searchParams;
  await requirePageUser(
    "admin",
    project ? `/admin/training?project=${encodeURIComponent(project)}` : "/admin/training",
  );
  return <TrainingAdmin initialProject={project ?? ""} />;
}
