// /admin/data - import prompts/completions/judgments and export preference data, with progress.
import { requirePageUser } from "@/server/auth/session";
import { DataAdmin } from "@/components/admin/data-admin";

export default async function DataPage({ searchParams }: { searchParams: Promise<{ project?: string }> }) {
  const sp = await searchParams;
  await requirePageUser(
    "admin",
    sp.project ? `/admin/data?project=${encodeURIComponent(sp.project)}` : "/admin/data",
  );
  return <DataAdmin initialProject={sp.project ?? ""} />;
}
