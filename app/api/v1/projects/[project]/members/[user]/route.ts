// DELETE /api/v1/projects/{project}/members/{user} - remove a member
import * as api from "@/server/api/members";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const DELETE = api.removeMemberHandler;
