// /admin/data - import prompts/completions/judgments and export preference data, with progress.
import { requirePageUser } from "@/server/auth/session";
import { DataAdmin } from "@/components/admin/data-admin";

export default async function DataPage({ searchParams }: { searchParams: Promise<{ project?: string }> }) {
  await requirePageUser("admin");
  const sp = await searchParams;
  return <DataAdmin initialProject={sp.project ?? ""} />;
}
