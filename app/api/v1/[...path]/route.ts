// /api/v1/<anything no other route matches> - the JSON 404 (or 405) the API promises, instead of
// Next's HTML page
import { unknownApiResponse } from "@/server/api/unknown";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

const answer = (req: Request) => unknownApiResponse(req.method, new URL(req.url).pathname);

export const GET = answer;
export const POST = answer;
export const PUT = answer;
export const PATCH = answer;
export const DELETE = answer;
export const OPTIONS = answer;
