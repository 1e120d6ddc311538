// /invite/[token] - accept an invite: choose a name and a password, then sign in.
import { db } from "@/server/db/client";
import { inviteInfo } from "@/server/annotation/people";
import { AcceptInvite } from "@/components/admin/accept-invite";

export default async function InvitePage({ params }: { params: Promise<{ token: string }> }) {
  const { token } = await params;
  const info = await inviteInfo(db(), token);
  return (
    <div
      className="mx-auto mt-12 max-w-sm rounded-lg border border-slate-200 bg-white p-6 shadow-sm"
      data-testid="invite-page"
    >
      <h1 className="mb-4 text-xl font-semibold">Join Pairwise</h1>
      {info.valid ? (
        <AcceptInvite token={token} email={info.email} role={info.role} />
      ) : (
        <p role="alert" className="text-sm text-red-700" data-testid="invite-invalid">
          {info.reason}
        </p>
      )}
    </div>
  );
}
