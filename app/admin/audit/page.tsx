// /admin/audit - the audit log: role and membership changes, tokens, exports, judge keys and
// URLs, checkpoint promotion; who, when, what.
import { requirePageUser } from "@/server/auth/session";
import { AuditLog } from "@/components/admin/audit-log";

export default async function AuditPage() {
  await requirePageUser("admin");
  return <AuditLog />;
}
