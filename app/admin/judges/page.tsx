// /admin/judges - AI judges: configure (any OpenAI-compatible endpoint, the reward model, the rule
// check), run over a project with live progress and cost, and see how they agree with humans.
import { requirePageUser } from "@/server/auth/session";
import { JudgesAdmin } from "./judges-admin";

export default async function JudgesPage({ searchParams }: { searchParams: Promise<{ project?: string }> }) {
  await requirePageUser("admin");
  const { project } = await searchParams;
  return <JudgesAdmin initialProject={project ?? ""} />;
}
