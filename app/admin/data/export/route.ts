// GET /admin/data/export?project=<slug>&format=trl|kto|hh|votes - the admin UI's download
// (admin session), the same stream as GET /api/v1/projects/{project}/export.
import { getSessionUser } from "@/server/auth/session";
import { hasRole } from "@/server/auth/roles";
import { httpStatus, isDomainError } from "@/server/errors";
import { ExportFormat } from "@/server/data/export";
import { exportResponse } from "@/server/annotation/data-admin";
import { audit } from "@/server/audit/audit";
import { db } from "@/server/db/client";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export async function GET(req: Request) {
  const user = await getSessionUser();
  if (!user)
    return Response.json({ error: { code: "unauthorized", message: "Sign in first." } }, { status: 401 });
  if (!hasRole(user, "admin"))
    return Response.json(
      { error: { code: "forbidden", message: "This needs the admin role." } },
      { status: 403 },
    );
  const url = new URL(req.url);
  const format = ExportFormat.safeParse(url.searchParams.get("format") ?? "trl");
  const project = url.searchParams.get("project");
  if (!project || !format.success)
    return Response.json(
      { error: { code: "bad_request", message: "Give ?project=<slug>&format=trl|kto|hh|votes." } },
      { status: 400 },
    );
  try {
    // Audited first: the stream holds its own consistent read open until it is consumed.
    await audit(db(), {
      actorId: user.id,
      action: "export.run",
      target: project,
      data: { via: "admin", format: format.data },
    });
    return await exportResponse({ project, format: format.data });
  } catch (e) {
    if (isDomainError(e))
      return Response.json({ error: { code: e.code, message: e.message } }, { status: httpStatus[e.code] });
    console.error("[admin export]", e);
    return Response.json(
      { error: { code: "internal", message: "The export failed on the server; it has been logged." } },
      { status: 500 },
    );
  }
}
