// GET /api/v1/openapi.json - the OpenAPI 3.1 document
import * as api from "@/server/api/handlers";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = api.getOpenApi;
