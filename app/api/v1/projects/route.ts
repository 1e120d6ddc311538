// GET, POST /api/v1/projects - list and create projects
import * as api from "@/server/api/handlers";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = api.listProjectsHandler;
export const POST = api.createProjectHandler;
