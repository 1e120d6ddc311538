// GET, PATCH /api/v1/projects/{project} - one project
import * as api from "@/server/api/handlers";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = api.getProjectHandler;
export const PATCH = api.updateProjectHandler;
