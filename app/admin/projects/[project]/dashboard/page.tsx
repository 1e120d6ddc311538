// /admin/projects/[project]/dashboard - throughput, agreement, per-annotator quality and bias,
// and the Bradley–Terry leaderboard of completion sources.
import Link from "next/link";
import { notFound } from "next/navigation";
import { requirePageUser } from "@/server/auth/session";
import { db } from "@/server/db/client";
import { isDomainError } from "@/server/errors";
import { leaderboard, projectDashboard } from "@/server/annotation/dashboard";
import { plural } from "@/components/plural";
import { BarChart, IntervalChart } from "@/components/charts/bar-chart";

const pct = (v: number | null | undefined) =>
  v === null || v === undefined ? "–" : `${Math.round(v * 100)}%`;
const num = (v: number | null | undefined, digits = 2) =>
  v === null || v === undefined ? "–" : v.toFixed(digits);

export default async function DashboardPage({
  params,
  searchParams,
}: {
  params: Promise<{ project: string }>;
  searchParams: Promise<{ origin?: string }>;
}) {
  const { project: ref } = await params;
  await requirePageUser("admin", `/admin/projects/${ref}/dashboard`);
  const sp = await searchParams;
  const origin = sp.origin === "ai" || sp.origin === "all" ? sp.origin : "human";
  const d = await projectDashboard(db(), decodeURIComponent(ref)).catch((e) => {
    if (isDomainError(e) && e.code === "not_found") notFound();
    throw e;
  });
  const lb = await leaderboard(db(), d.project.id, { origin });
  const s = d.summary;
  return (
    <div className="flex flex-col gap-6" data-testid="dashboard">
      <div className="flex flex-wrap items-baseline gap-4">
        <h1 className="text-2xl font-semibold">{d.project.name}: dashboard</h1>
        <Link href={`/admin/projects/${d.project.slug}`} className="text-sm text-blue-700 underline">
          Settings
        </Link>
      </div>
      {s && (
        <dl className="grid grid-cols-2 gap-3 sm:grid-cols-4 lg:grid-cols-7" data-testid="dashboard-counts">
          {[
            ["Human judgments", s.judgments.human, "count-human"],
            ["AI judgments", s.judgments.ai, "count-ai"],
            ["Open", s.comparisons.open, "count-open"],
            ["Complete", (s.comparisons.complete ?? 0) + (s.comparisons.adjudicated ?? 0), "count-complete"],
            ["In review", s.comparisons.review, "count-review"],
            ["Flagged", s.comparisons.flagged, "count-flagged"],
            ["Preference pairs", s.activePairs, "count-pairs"],
          ].map(([label, value, id]) => (
            <div key={id as string} className="rounded-lg border border-slate-200 bg-white p-3">
              <dt className="text-xs text-slate-600">{label}</dt>
              <dd className="text-2xl font-semibold" data-testid={id as string}>
                {value as number}
              </dd>
            </div>
          ))}
        </dl>
      )}
      <section aria-labelledby="tp" className="rounded-lg border border-slate-200 bg-white p-4">
        <h2 id="tp" className="mb-2 font-semibold">
          Human judgments per day (last 30 days)
        </h2>
        <BarChart
          data={d.throughput.map((t) => ({ x: t.day, y: t.count }))}
          label="Human judgments per day"
          testId="throughput-chart"
        />
      </section>
      <section
        aria-labelledby="agr"
        className="rounded-lg border border-slate-200 bg-white p-4"
        data-testid="agreement"
      >
        <h2 id="agr" className="mb-2 font-semibold">
          Agreement
        </h2>
        <dl className="grid gap-2 text-sm sm:grid-cols-3">
          <div>
            <dt className="text-slate-600">Krippendorff&apos;s α (ordinal, −1/0/+1)</dt>
            <dd className="text-lg font-semibold" data-testid="alpha">
              {num(d.agreement.alpha, 3)}
            </dd>
            <dd className="text-xs text-slate-500">
              {plural(d.agreement.alphaUnits, "unit")} with ≥ 2 ratings,{" "}
              {plural(d.agreement.alphaRatings, "rating")}
            </dd>
          </div>
          <div>
            <dt className="text-slate-600">
              Fleiss&apos; κ (units with exactly {plural(d.project.overlap, "rater")})
            </dt>
            <dd className="text-lg font-semibold" data-testid="kappa">
              {d.project.overlap < 2 ? "n/a (overlap 1)" : num(d.agreement.kappa, 3)}
            </dd>
            <dd className="text-xs text-slate-500">{plural(d.agreement.kappaUnits, "unit")}</dd>
          </div>
          <div>
            <dt className="text-slate-600">Raw pairwise agreement</dt>
            <dd className="text-lg font-semibold">{pct(d.agreement.pairwiseAgreement)}</dd>
          </div>
        </dl>
      </section>
      <section
        aria-labelledby="ann"
        className="overflow-x-auto rounded-lg border border-slate-200 bg-white p-4"
      >
        <h2 id="ann" className="mb-2 font-semibold">
          Annotators
        </h2>
        <table className="w-full border-collapse text-sm" data-testid="annotator-table">
          <thead>
            <tr className="border-b text-left">
              <th className="p-2">Annotator</th>
              <th className="p-2">Items</th>
              <th className="p-2">Median time</th>
              <th className="p-2">Gold accuracy</th>
              <th className="p-2">Agreement with others</th>
              <th className="p-2" title="How often the left (first shown) side won; 50% is unbiased">
                Left side wins
              </th>
              <th className="p-2" title="How often the longer completion won">
                Longer wins
              </th>
            </tr>
          </thead>
          <tbody>
            {d.annotators.map((a) => (
              <tr key={a.userId} className="border-b" data-testid="annotator-row">
                <td className="p-2">{a.name}</td>
                <td className="p-2" data-testid="annotator-items">
                  {a.items}
                </td>
                <td className="p-2">{a.medianSeconds === null ? "–" : `${a.medianSeconds.toFixed(1)} s`}</td>
                <td className="p-2">
                  {pct(a.gold.accuracy)}{" "}
                  <span className="text-xs text-slate-500">
                    ({a.gold.correct}/{a.gold.done})
                  </span>
                </td>
                <td className="p-2">
                  {pct(a.agreement.rate)}{" "}
                  <span className="text-xs text-slate-500">({a.agreement.comparisons})</span>
                </td>
                <td className="p-2">
                  <BiasBar
                    rate={a.positionBias.rate}
                    lower={a.positionBias.lower}
                    upper={a.positionBias.upper}
                    n={a.positionBias.considered}
                    label={`${a.name}: left side wins`}
                  />
                </td>
                <td className="p-2">
                  <BiasBar
                    rate={a.lengthBias.rate}
                    lower={a.lengthBias.lower}
                    upper={a.lengthBias.upper}
                    n={a.lengthBias.considered}
                    label={`${a.name}: longer wins`}
                  />
                </td>
              </tr>
            ))}
            {d.annotators.length === 0 && (
              <tr>
                <td colSpan={7} className="p-3 text-slate-600">
                  No human judgments yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </section>
      <section
        aria-labelledby="lb"
        className="rounded-lg border border-slate-200 bg-white p-4"
        data-testid="leaderboard"
      >
        <div className="mb-2 flex flex-wrap items-baseline gap-3">
          <h2 id="lb" className="font-semibold">
            Leaderboard (Bradley–Terry, 95% bootstrap intervals)
          </h2>
          <nav aria-label="Judgments counted" className="flex gap-2 text-sm">
            {(["human", "ai", "all"] as const).map((o) => (
              <Link
                key={o}
                href={`?origin=${o}`}
                className={o === origin ? "font-semibold" : "text-blue-700 underline"}
              >
                {o === "human" ? "Human" : o === "ai" ? "AI judges" : "All"}
              </Link>
            ))}
          </nav>
        </div>
        {lb.rows.length === 0 ? (
          <p className="text-sm text-slate-600">No battles between different sources yet.</p>
        ) : (
          <>
            <table className="w-full border-collapse text-sm">
              <thead>
                <tr className="border-b text-left">
                  <th className="p-2">Rank</th>
                  <th className="p-2">Source</th>
                  <th className="p-2">Rating</th>
                  <th className="p-2">95% interval</th>
                  <th className="p-2">Battles (W/L/T)</th>
                </tr>
              </thead>
              <tbody>
                {lb.rows.map((r) => (
                  <tr key={r.source} className="border-b" data-testid="leaderboard-row">
                    <td className="p-2">{r.rank}</td>
                    <td className="p-2 font-mono">{r.source}</td>
                    <td className="p-2">{r.rating.toFixed(0)}</td>
                    <td className="p-2">
                      {r.lower.toFixed(0)} – {r.upper.toFixed(0)}
                    </td>
                    <td className="p-2">
                      {r.battles} ({r.wins}/{r.losses}/{r.ties})
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <IntervalChart
              rows={lb.rows.map((r) => ({ name: r.source, value: r.rating, lower: r.lower, upper: r.upper }))}
              label="Ratings with 95% intervals"
            />
            <p className="text-xs text-slate-500">
              R = 400·θ + 1000; {lb.battles} battles; rank = 1 + number of sources whose lower bound exceeds
              this one&apos;s upper bound.
            </p>
          </>
        )}
      </section>
    </div>
  );
}

function BiasBar({
  rate,
  lower,
  upper,
  n,
  label,
}: {
  rate: number | null;
  lower: number | null;
  upper: number | null;
  n: number;
  label: string;
}) {
  if (rate === null || lower === null || upper === null) return <span className="text-slate-500">–</span>;
  const w = 80;
  const warn = lower > 0.5 || upper < 0.5;
  return (
    <span className="inline-flex items-center gap-2">
      <svg
        role="img"
        aria-label={`${label}: ${Math.round(rate * 100)}%`}
        width={w}
        height={12}
        viewBox={`0 0 ${w} 12`}
      >
        <rect x={0} y={5} width={w} height={2} fill="#e2e8f0" />
        <line x1={w / 2} x2={w / 2} y1={0} y2={12} stroke="#94a3b8" />
        <line
          x1={lower * w}
          x2={upper * w}
          y1={6}
          y2={6}
          stroke={warn ? "#b45309" : "#64748b"}
          strokeWidth={2}
        />
        <circle cx={rate * w} cy={6} r={3} fill={warn ? "#b45309" : "#2563eb"} />
      </svg>
      <span className={warn ? "text-amber-800" : ""}>
        {Math.round(rate * 100)}% <span className="text-xs text-slate-500">(n={n})</span>
      </span>
    </span>
  );
}
