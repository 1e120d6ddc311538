// POST /api/v1/projects/{project}/rounds - run a training round now
// GET  /api/v1/projects/{project}/rounds - the project's rounds
import * as api from "@/server/api/training";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const POST = api.startRoundHandler;
export const GET = api.listRoundsHandler;
