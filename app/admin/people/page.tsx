// /admin/people - invite by link, set roles, deactivate; project membership.
import { requirePageUser } from "@/server/auth/session";
import { PeopleAdmin } from "@/components/admin/people-admin";
import { ProjectMembers } from "@/components/admin/project-members";

export default async function PeoplePage() {
  const me = await requirePageUser("admin", "/admin/people");
  return (
    <div className="flex flex-col gap-6">
      <PeopleAdmin meId={me.id} />
      <ProjectMembers />
    </div>
  );
}
