// /admin/judges - AI judges: configure (any OpenAI-compatible endpoint, the reward model, the rule
// check), run over a project with live progress and cost, and see how they agree with humans.
import { requirePageUser } from "@/server/auth/session";
import { env } from "@/server/env";
import { JudgesAdmin } from "@/components/admin/judges-admin";

export default async function JudgesPage({ searchParams }: { searchParams: Promise<{ project?: string }> }) {
  const { project } = await searchParams;
  await requirePageUser(
    "admin",
    project ? `/admin/judges?project=${encodeURIComponent(project)}` : "/admin/judges",
  );
  // The judge form suggests this server's own `pairwise serve`, wherever PAIRWISE_SERVE_PORT put it.
  const { PAIRWISE_HOST: host, PAIRWISE_SERVE_PORT: port } = env();
  const local = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  return <JudgesAdmin initialProject={project ?? ""} defaultBaseUrl={`http://${local}:${port}/v1`} />;
}
