// GET /api/v1/snapshots/{id} - a snapshot
import * as api from "@/server/api/handlers";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = api.getSnapshotHandler;
