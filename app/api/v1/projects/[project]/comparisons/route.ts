// GET, POST /api/v1/projects/{project}/comparisons - list and create comparisons
import * as api from "@/server/api/handlers";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = api.listComparisonsHandler;
export const POST = api.createComparisonHandler;
