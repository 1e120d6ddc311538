// GET /api/v1/projects/{project}/pairs - preference pairs
import * as api from "@/server/api/handlers";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = api.listPairsHandler;
