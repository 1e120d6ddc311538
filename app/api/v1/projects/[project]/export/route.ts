// GET /api/v1/projects/{project}/export - streamed export
import * as api from "@/server/api/handlers";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = api.exportHandler;
