// POST /api/v1/annotation/heartbeat - extend a lease (the web process answers this before Next.js; see server/processes/web.ts)
import { annotationHeartbeatHandler } from "@/server/api/annotation";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const POST = annotationHeartbeatHandler;
