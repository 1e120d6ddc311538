"use client";
// The audit log for admins: who did what, when, to what; newest first, filtered by action,
// downloadable as JSON Lines or CSV (app/admin/audit/export).
import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "@/components/trpc";

const FILTERS = [
  ["", "Everything"],
  ["user.", "Accounts and roles"],
  ["member.", "Project membership"],
  ["token.", "API tokens"],
  ["invite.", "Invites"],
  ["export.", "Exports"],
  ["judge.", "Judges (keys, URLs)"],
  ["checkpoint.", "Checkpoints"],
  ["comparison.", "Flags and rulings"],
] as const;

export function AuditLog() {
  const trpc = useTRPC();
  const [action, setAction] = useState("");
  const rows = useQuery(trpc.admin.audit.queryOptions({ action: action || undefined, take: 500 }));
  const q = action ? `&action=${encodeURIComponent(action)}` : "";
  return (
    <div className="flex flex-col gap-4" data-testid="audit-log">
      <h1 className="text-2xl font-semibold">Audit log</h1>
      <div className="flex flex-wrap items-center gap-3 text-sm">
        <label className="flex items-center gap-2">
          Show
          <select
            value={action}
            onChange={(e) => setAction(e.target.value)}
            className="rounded border border-slate-300 px-2 py-1"
            data-testid="audit-filter"
          >
            {FILTERS.map(([v, label]) => (
              <option key={v} value={v}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <a className="underline" href={`/admin/audit/export?format=jsonl${q}`} data-testid="audit-jsonl">
          Download JSONL
        </a>
        <a className="underline" href={`/admin/audit/export?format=csv${q}`} data-testid="audit-csv">
          Download CSV
        </a>
      </div>
      <table className="w-full border-collapse bg-white text-sm">
        <caption className="sr-only">Audit log, newest first</caption>
        <thead>
          <tr className="border-b text-left">
            <th className="p-2">When</th>
            <th className="p-2">Who</th>
            <th className="p-2">What</th>
            <th className="p-2">Target</th>
            <th className="p-2">Details</th>
          </tr>
        </thead>
        <tbody>
          {rows.data?.map((r) => (
            <tr key={r.id} className="border-b align-top" data-testid="audit-row" data-action={r.action}>
              <td className="whitespace-nowrap p-2">{new Date(r.createdAt).toLocaleString()}</td>
              <td className="p-2">{r.actor}</td>
              <td className="p-2 font-mono">{r.action}</td>
              <td className="break-all p-2 font-mono text-xs">{r.target ?? ""}</td>
              <td className="break-all p-2 font-mono text-xs">{JSON.stringify(r.data)}</td>
            </tr>
          ))}
          {rows.data?.length === 0 && (
            <tr>
              <td colSpan={5} className="p-3 text-slate-600">
                Nothing recorded yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
