// POST /api/v1/projects/{project}/annotation/next - lease the next comparison (the web process answers this before Next.js; see server/processes/web.ts)
import { annotationNextHandler } from "@/server/api/annotation";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const POST = annotationNextHandler;
