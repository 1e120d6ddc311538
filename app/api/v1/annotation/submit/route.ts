// POST /api/v1/annotation/submit - submit a judgment (the web process answers this before Next.js; see server/processes/web.ts)
import { annotationSubmitHandler } from "@/server/api/annotation";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const POST = annotationSubmitHandler;
