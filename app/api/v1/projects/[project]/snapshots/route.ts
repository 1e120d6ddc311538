// POST /api/v1/projects/{project}/snapshots - freeze a snapshot
import * as api from "@/server/api/handlers";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const POST = api.createSnapshotHandler;
