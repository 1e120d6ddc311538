"use client";
// The rollouts a GRPO round learned from: prompt, sampled completion, reward (per function on
// hover), group-relative advantage and the checker's verdict, 50 at a time.
import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "@/components/trpc";

const f = (v: number | null, d = 2) => (v === null ? "–" : v.toFixed(d));

export function Rollouts({ roundId }: { roundId: string }) {
  const trpc = useTRPC();
  const [skip, setSkip] = useState(0);
  const q = useQuery(trpc.training.rollouts.queryOptions({ roundId, skip, take: 50 }));
  const d = q.data;
  if (!d || d.total === 0) return null;
  return (
    <section className="mt-3" data-testid="grpo-rollouts">
      <h3 className="mb-1 font-semibold">
        GRPO rollouts ({d.total}){" "}
        <span className="text-xs font-normal text-slate-500">
          {skip + 1}–{Math.min(d.total, skip + 50)}
        </span>
        <button
          className="ml-2 text-xs underline disabled:opacity-40"
          disabled={skip === 0}
          onClick={() => setSkip(Math.max(0, skip - 50))}
        >
          previous
        </button>
        <button
          className="ml-2 text-xs underline disabled:opacity-40"
          disabled={skip + 50 >= d.total}
          onClick={() => setSkip(skip + 50)}
        >
          next
        </button>
      </h3>
      <div className="max-h-96 overflow-auto rounded border bg-white">
        <table className="w-full text-xs">
          <thead className="sticky top-0 bg-slate-50 text-left text-slate-600">
            <tr>
              <th className="p-1">step</th>
              <th className="p-1">env</th>
              <th className="p-1">prompt</th>
              <th className="p-1">completion</th>
              <th className="p-1">reward</th>
              <th className="p-1">advantage</th>
              <th className="p-1">correct</th>
            </tr>
          </thead>
          <tbody>
            {d.rows.map((r) => (
              <tr key={r.id} className="border-t align-top">
                <td className="p-1">{r.step ?? "–"}</td>
                <td className="p-1">{r.env ?? "–"}</td>
                <td className="max-w-xs truncate p-1" title={r.prompt}>
                  {r.prompt}
                </td>
                <td className="max-w-md p-1 font-mono whitespace-pre-wrap">
                  {r.completion}
                  {r.truncated ? <span className="text-amber-700"> [cut]</span> : null}
                </td>
                <td
                  className="p-1"
                  title={Object.entries(r.rewards)
                    .map(([k, v]) => `${k}: ${v}`)
                    .join("\n")}
                >
                  {f(r.reward)}
                </td>
                <td className="p-1">{f(r.advantage)}</td>
                <td className="p-1">{r.correct === null ? "–" : r.correct ? "yes" : "no"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
