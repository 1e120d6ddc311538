// GET /api/v1/imports/{id} - an import job
import * as api from "@/server/api/handlers";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = api.getImportHandler;
