"use client";
// People: invite links (shown once), roles, deactivation.
import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useTRPC } from "@/components/trpc";
import { errorMessage } from "@/components/annotate/errors";

const ROLES = ["annotator", "reviewer", "admin"] as const;
type Role = (typeof ROLES)[number];

export function PeopleAdmin({ meId }: { meId: string }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const people = useQuery(trpc.admin.people.queryOptions());
  const invites = useQuery(trpc.admin.invites.queryOptions());
  const createInvite = useMutation(trpc.admin.createInvite.mutationOptions());
  const revoke = useMutation(trpc.admin.revokeInvite.mutationOptions());
  const setRole = useMutation(trpc.admin.setRole.mutationOptions());
  const setActive = useMutation(trpc.admin.setActive.mutationOptions());
  const [email, setEmail] = useState("");
  const [role, setRoleInput] = useState<Role>("annotator");
  const [link, setLink] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const refresh = () => {
    void qc.invalidateQueries({ queryKey: trpc.admin.people.queryKey() });
    void qc.invalidateQueries({ queryKey: trpc.admin.invites.queryKey() });
  };
  const run = async (fn: () => Promise<unknown>) => {
    setMessage(null);
    try {
      await fn();
      refresh();
    } catch (e) {
      setMessage(errorMessage(e));
    }
  };
  return (
    <div className="flex flex-col gap-6" data-testid="people">
      <h1 className="text-2xl font-semibold">People</h1>
      <section aria-labelledby="invite-title" className="rounded-lg border border-slate-200 bg-white p-4">
        <h2 id="invite-title" className="mb-2 font-semibold">
          Invite someone
        </h2>
        <form
          className="flex flex-wrap items-end gap-3 text-sm"
          onSubmit={(e) => {
            e.preventDefault();
            void run(async () => {
              const r = await createInvite.mutateAsync({ email: email || undefined, role });
              setLink(`${window.location.origin}${r.path}`);
              setEmail("");
            });
          }}
        >
          <label className="flex flex-col gap-1">
            Email (optional: leave empty for a link anyone can use once)
            <input
              type="email"
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              className="rounded border border-slate-300 px-2 py-1"
              data-testid="invite-email"
            />
          </label>
          <label className="flex flex-col gap-1">
            Role
            <select
              value={role}
              onChange={(e) => setRoleInput(e.target.value as Role)}
              className="rounded border border-slate-300 px-2 py-1"
              data-testid="invite-role"
            >
              {ROLES.map((r) => (
                <option key={r}>{r}</option>
              ))}
            </select>
          </label>
          <button
            type="submit"
            className="rounded bg-slate-900 px-3 py-1.5 text-white"
            data-testid="invite-create"
          >
            Create invite link
          </button>
        </form>
        {link && (
          <p className="mt-3 text-sm" role="status">
            Send this link (shown once; valid 7 days):{" "}
            <code className="break-all rounded bg-slate-100 px-1" data-testid="invite-link">
              {link}
            </code>
          </p>
        )}
        {invites.data && invites.data.length > 0 && (
          <table className="mt-3 w-full border-collapse text-sm">
            <caption className="sr-only">Invites</caption>
            <thead>
              <tr className="border-b text-left">
                <th className="p-1">Email</th>
                <th className="p-1">Role</th>
                <th className="p-1">State</th>
                <th className="p-1">Expires</th>
                <th className="p-1"></th>
              </tr>
            </thead>
            <tbody>
              {invites.data.map((i) => (
                <tr key={i.id} className="border-b">
                  <td className="p-1">{i.email ?? "(anyone)"}</td>
                  <td className="p-1">{i.role}</td>
                  <td className="p-1">{i.state}</td>
                  <td className="p-1">{new Date(i.expiresAt).toLocaleDateString()}</td>
                  <td className="p-1">
                    {i.state === "open" && (
                      <button
                        type="button"
                        className="text-red-700 underline"
                        onClick={() => void run(() => revoke.mutateAsync({ inviteId: i.id }))}
                      >
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {message && (
        <p role="alert" className="text-sm text-red-700" data-testid="people-error">
          {message}
        </p>
      )}
      <table className="w-full border-collapse bg-white text-sm">
        <caption className="sr-only">People</caption>
        <thead>
          <tr className="border-b text-left">
            <th className="p-2">Name</th>
            <th className="p-2">Email</th>
            <th className="p-2">Role</th>
            <th className="p-2">Judgments</th>
            <th className="p-2">Last sign-in</th>
            <th className="p-2">Status</th>
          </tr>
        </thead>
        <tbody>
          {people.data?.map((u) => (
            <tr
              key={u.id}
              className={`border-b ${u.active ? "" : "opacity-60"}`}
              data-testid="person-row"
              data-email={u.email}
            >
              <td className="p-2">{u.name}</td>
              <td className="p-2">{u.email}</td>
              <td className="p-2">
                <select
                  aria-label={`Role of ${u.name}`}
                  value={u.role}
                  onChange={(e) =>
                    void run(() => setRole.mutateAsync({ userId: u.id, role: e.target.value as Role }))
                  }
                  className="rounded border border-slate-300 px-1 py-0.5"
                  data-testid="person-role"
                >
                  {ROLES.map((r) => (
                    <option key={r}>{r}</option>
                  ))}
                </select>
              </td>
              <td className="p-2">{u.judgments}</td>
              <td className="p-2">{u.lastLoginAt ? new Date(u.lastLoginAt).toLocaleString() : "never"}</td>
              <td className="p-2">
                {u.id === meId ? (
                  "you"
                ) : (
                  <button
                    type="button"
                    className="underline"
                    onClick={() => void run(() => setActive.mutateAsync({ userId: u.id, active: !u.active }))}
                    data-testid="person-toggle-active"
                  >
                    {u.active ? "Deactivate" : "Reactivate"}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
