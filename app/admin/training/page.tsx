// /admin/training - training rounds: run now, live progress, per-step and per-round charts,
// checkpoint lineage with gate reasons and data provenance, settings, and a side-by-side playground.
import { requirePageUser } from "@/server/auth/session";
import { TrainingAdmin } from "./training-admin";

export default async function TrainingPage({
  searchParams,
}: {
  searchParams: Promise<{ project?: string }>;
}) {
  await requirePageUser("admin");
  const { project } = await searchParams;
  return <TrainingAdmin initialProject={project ?? ""} />;
}
