// POST /admin/data/import?job=<id> - the admin UI's upload: streams the body into a queued import
// job (admin session). Scripts use POST /api/v1/projects/{project}/import with a token instead.
import { getSessionUser } from "@/server/auth/session";
import { hasRole } from "@/server/auth/roles";
import { db } from "@/server/db/client";
import { httpStatus, isDomainError } from "@/server/errors";
import { runQueuedImport } from "@/server/annotation/data-admin";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export async function POST(req: Request) {
  const user = await getSessionUser();
  if (!user)
    return Response.json({ error: { code: "unauthorized", message: "Sign in first." } }, { status: 401 });
  if (!hasRole(user, "admin"))
    return Response.json(
      { error: { code: "forbidden", message: "This needs the admin role." } },
      { status: 403 },
    );
  const job = new URL(req.url).searchParams.get("job");
  if (!job || !req.body)
    return Response.json(
      { error: { code: "bad_request", message: "Send ?job=<id> and the file as the body." } },
      { status: 400 },
    );
  try {
    const result = await runQueuedImport(db(), {
      jobId: job,
      body: req.body,
      userId: user.id,
      signal: req.signal,
    });
    return Response.json(result, { status: result.status === "failed" ? 422 : 200 });
  } catch (e) {
    if (isDomainError(e))
      return Response.json({ error: { code: e.code, message: e.message } }, { status: httpStatus[e.code] });
    console.error("[admin import]", e);
    return Response.json(
      { error: { code: "internal", message: "The import failed on the server; it has been logged." } },
      { status: 500 },
    );
  }
}
