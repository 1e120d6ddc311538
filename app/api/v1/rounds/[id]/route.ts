// GET /api/v1/rounds/{id} - a training round's stage, progress, results and error
import * as api from "@/server/api/training";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = api.getRoundHandler;
