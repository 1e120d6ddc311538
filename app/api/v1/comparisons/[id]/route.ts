// GET /api/v1/comparisons/{id} - a comparison
import * as api from "@/server/api/handlers";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = api.getComparisonHandler;
