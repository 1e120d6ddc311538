// /admin/people - invite by link, set roles, deactivate.
import { requirePageUser } from "@/server/auth/session";
import { PeopleAdmin } from "@/components/admin/people-admin";

export default async function PeoplePage() {
  const me = await requirePageUser("admin", "/admin/people");
  return <PeopleAdmin meId={me.id} />;
}
