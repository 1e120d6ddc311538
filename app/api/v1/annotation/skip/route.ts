// POST /api/v1/annotation/skip - give a lease back (the web process answers this before Next.js; see server/processes/web.ts)
import { annotationSkipHandler } from "@/server/api/annotation";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const POST = annotationSkipHandler;
