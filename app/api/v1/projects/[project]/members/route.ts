// GET  /api/v1/projects/{project}/members - the project's members
// POST /api/v1/projects/{project}/members - add a member or change their role
import * as api from "@/server/api/members";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export const GET = api.listMembersHandler;
export const POST = api.setMemberHandler;
