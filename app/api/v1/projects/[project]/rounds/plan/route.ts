// GET /api/v1/projects/{project}/rounds/plan - what a round started now would do (server/training/preflight.ts)
import * as api from "@/server/api/training";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = api.roundPlanHandler;
