"use client";
// Every environment's held-out score per evaluated checkpoint (one per round): a table (accuracy;
// games: win / draw / loss per opponent) and a chart of accuracy per round. Shown when a round
// evaluated environments (GRPO rounds, or evaluation.environments).
import type { RoundSummary } from "@/server/training/overview";
import { LineChart, type ChartSeries } from "@/components/charts/line-chart";

const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2"];
const pct = (v: number | null | undefined) =>
  typeof v === "number" && Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : "–";

export function EnvScores({ perRound }: { perRound: RoundSummary[] }) {
  const rows = perRound.filter((r) => r.environments && Object.keys(r.environments).length);
  if (!rows.length) return null;
  const names = [...new Set(rows.flatMap((r) => Object.keys(r.environments ?? {})))].sort();
  const series: ChartSeries[] = names.map((n, i) => ({
    name: n,
    color: COLORS[i % COLORS.length] as string,
    points: rows
      .map((r) => ({ x: r.round, y: r.environments?.[n]?.accuracy }))
      .filter((p): p is { x: number; y: number } => typeof p.y === "number"),
  }));
  return (
    <section data-testid="env-scores">
      <h2 className="mb-2 text-lg font-semibold">Environments: held-out score per checkpoint</h2>
      <div className="grid gap-3 md:grid-cols-2">
        <div className="overflow-x-auto rounded border bg-white">
          <table className="w-full text-sm">
            <thead className="bg-slate-50 text-left text-xs text-slate-600">
              <tr>
                <th className="p-2">round</th>
                {names.map((n) => (
                  <th key={n} className="p-2">
                    {n}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.id} className="border-t" data-testid={`env-scores-${r.round}`}>
                  <td className="p-2">{r.round}</td>
                  {names.map((n) => {
                    const e = r.environments?.[n];
                    return (
                      <td key={n} className="p-2 align-top">
                        {e ? (
                          <>
                            {pct(e.accuracy)} <span className="text-xs text-slate-500">(n={e.n})</span>
                            {(e.games ?? []).map((g) => (
                              <div key={g.opponent} className="text-xs text-slate-600">
                                vs {g.opponent}: W {g.win} / D {g.draw} / L {g.loss}
                              </div>
                            ))}
                          </>
                        ) : (
                          "–"
                        )}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <LineChart
          title="Held-out accuracy per environment"
          xLabel="round"
          yMin={0}
          yMax={1}
          series={series}
        />
      </div>
    </section>
  );
}
