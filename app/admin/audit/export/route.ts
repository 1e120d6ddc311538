// GET /admin/audit/export?format=jsonl|csv[&action=member.] - the audit log as a download (admin session).
import { getSessionUser } from "@/server/auth/session";
import { hasRole } from "@/server/auth/roles";
import { db } from "@/server/db/client";
import { audit, auditCsv, auditJsonl, listAudit } from "@/server/audit/audit";

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
  const format = url.searchParams.get("format") ?? "jsonl";
  const action = url.searchParams.get("action")?.slice(0, 100) || undefined;
  if (format !== "jsonl" && format !== "csv")
    return Response.json(
      { error: { code: "bad_request", message: "Give ?format=jsonl or ?format=csv." } },
      { status: 400 },
    );
  const rows = await listAudit(db(), { action, take: 100_000 });
  await audit(db(), { actorId: user.id, action: "export.audit", data: { format, action: action ?? null } });
  const day = new Date().toISOString().slice(0, 10);
  return new Response(format === "csv" ? auditCsv(rows) : auditJsonl(rows), {
    headers: {
      "content-type": format === "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8",
      "content-disposition": `attachment; filename="pairwise-audit-${day}.${format}"`,
      "cache-control": "no-store",
    },
  });
}
