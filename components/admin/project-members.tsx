"use client";
// Project membership on the People page: who annotates, reviews or administers each project.
// A person works only on projects they are a member of, with the lower of their account role
// and their project role; admins administer every project (server/auth/access.ts).
import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useTRPC } from "@/components/trpc";
import { errorMessage } from "@/components/annotate/errors";

const PROJECT_ROLES = ["annotator", "reviewer"] as const;
type ProjectRole = (typeof PROJECT_ROLES)[number];

export function ProjectMembers() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const projects = useQuery(trpc.admin.projects.queryOptions());
  const people = useQuery(trpc.admin.people.queryOptions());
  const [project, setProject] = useState("");
  const current = project || projects.data?.[0]?.slug || "";
  const members = useQuery({ ...trpc.admin.members.queryOptions({ project: current }), enabled: !!current });
  const setMember = useMutation(trpc.admin.setMember.mutationOptions());
  const removeMember = useMutation(trpc.admin.removeMember.mutationOptions());
  const [user, setUser] = useState("");
  const [role, setRole] = useState<ProjectRole>("annotator");
  const [message, setMessage] = useState<string | null>(null);
  const run = async (fn: () => Promise<unknown>) => {
    setMessage(null);
    try {
      await fn();
      void qc.invalidateQueries({ queryKey: trpc.admin.members.queryKey() });
    } catch (e) {
      setMessage(errorMessage(e));
    }
  };
  const memberIds = new Set(members.data?.map((m) => m.userId));
  const candidates = (people.data ?? []).filter(
    (u) => u.role !== "admin" && u.active && !memberIds.has(u.id),
  );
  return (
    <section
      aria-labelledby="members-title"
      className="rounded-lg border border-slate-200 bg-white p-4"
      data-testid="project-members"
    >
      <h2 id="members-title" className="mb-1 font-semibold">
        Project members
      </h2>
      <p className="mb-3 text-sm text-slate-600">
        People work only on the projects they are members of, as the lower of their account role and their
        role there. Admins administer every project. Removing someone ends their leases in the project.
      </p>
      <label className="mb-3 flex items-center gap-2 text-sm">
        Project
        <select
          value={current}
          onChange={(e) => setProject(e.target.value)}
          className="rounded border border-slate-300 px-2 py-1"
          data-testid="members-project"
        >
          {projects.data?.map((p) => (
            <option key={p.id} value={p.slug}>
              {p.name}
            </option>
          ))}
        </select>
      </label>
      <form
        className="mb-3 flex flex-wrap items-end gap-3 text-sm"
        onSubmit={(e) => {
          e.preventDefault();
          if (!user || !current) return;
          void run(async () => {
            await setMember.mutateAsync({ project: current, user, role });
            setUser("");
          });
        }}
      >
        <label className="flex flex-col gap-1">
          Person
          <select
            value={user}
            onChange={(e) => setUser(e.target.value)}
            className="rounded border border-slate-300 px-2 py-1"
            data-testid="members-user"
          >
            <option value="">Choose…</option>
            {candidates.map((u) => (
              <option key={u.id} value={u.id}>
                {u.name} ({u.email}, {u.role})
              </option>
            ))}
          </select>
        </label>
        <label className="flex flex-col gap-1">
          Role in the project
          <select
            value={role}
            onChange={(e) => setRole(e.target.value as ProjectRole)}
            className="rounded border border-slate-300 px-2 py-1"
            data-testid="members-role"
          >
            {PROJECT_ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <button
          type="submit"
          className="rounded bg-slate-900 px-3 py-1.5 text-white"
          data-testid="members-add"
        >
          Add to project
        </button>
      </form>
      {message && (
        <p role="alert" className="mb-2 text-sm text-red-700" data-testid="members-error">
          {message}
        </p>
      )}
      <table className="w-full border-collapse text-sm">
        <caption className="sr-only">Members of the project</caption>
        <thead>
          <tr className="border-b text-left">
            <th className="p-1">Name</th>
            <th className="p-1">Email</th>
            <th className="p-1">Role here</th>
            <th className="p-1">Account role</th>
            <th className="p-1"></th>
          </tr>
        </thead>
        <tbody>
          {members.data?.map((m) => (
            <tr key={m.userId} className="border-b" data-testid="member-row" data-email={m.email}>
              <td className="p-1">{m.name}</td>
              <td className="p-1">{m.email}</td>
              <td className="p-1">
                <select
                  aria-label={`Role of ${m.name} in the project`}
                  value={m.role}
                  onChange={(e) =>
                    void run(() =>
                      setMember.mutateAsync({
                        project: current,
                        user: m.userId,
                        role: e.target.value as ProjectRole,
                      }),
                    )
                  }
                  className="rounded border border-slate-300 px-1 py-0.5"
                  data-testid="member-role"
                >
                  {PROJECT_ROLES.map((r) => (
                    <option key={r}>{r}</option>
                  ))}
                </select>
              </td>
              <td className="p-1">{m.accountRole}</td>
              <td className="p-1">
                <button
                  type="button"
                  className="text-red-700 underline"
                  onClick={() =>
                    void run(() => removeMember.mutateAsync({ project: current, user: m.userId }))
                  }
                  data-testid="member-remove"
                >
                  Remove
                </button>
              </td>
            </tr>
          ))}
          {members.data?.length === 0 && (
            <tr>
              <td colSpan={5} className="p-2 text-slate-600">
                No members yet: only admins can work on this project.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}
