// POST /api/v1/projects/{project}/import - streamed import
import * as api from "@/server/api/handlers";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const POST = api.importHandler;
