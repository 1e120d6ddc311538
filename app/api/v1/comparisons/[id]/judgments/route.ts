// GET, POST /api/v1/comparisons/{id}/judgments - judgments of a comparison
import * as api from "@/server/api/handlers";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = api.listJudgmentsHandler;
export const POST = api.recordJudgmentHandler;
