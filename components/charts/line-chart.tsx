// Hand-written SVG charts for the training page: a line chart of one or more series with axes,
// ticks, a legend and a hover readout per point (<title>). No chart library.
"use client";

export interface ChartSeries {
  name: string;
  color: string;
  points: Array<{ x: number; y: number }>;
  dashed?: boolean;
}

function ticks(lo: number, hi: number, n = 4): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / n;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-6; v += step) out.push(+v.toPrecision(6));
  return out;
}

const fmt = (v: number) =>
  Math.abs(v) >= 1000 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(3);

export function LineChart({
  title,
  series,
  xLabel,
  height = 180,
  yMin,
  yMax,
  testId,
}: {
  title: string;
  series: ChartSeries[];
  xLabel: string;
  height?: number;
  yMin?: number;
  yMax?: number;
  testId?: string;
}) {
  const W = 420;
  const H = height;
  const m = { l: 46, r: 10, t: 22, b: 30 };
  const pts = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.y));
  if (!pts.length) {
    return (
      <figure className="rounded border bg-white p-2 text-xs text-slate-500" data-testid={testId}>
        <figcaption className="font-medium text-slate-700">{title}</figcaption>
        no data yet
      </figure>
    );
  }
  const x0 = Math.min(...pts.map((p) => p.x));
  const x1 = Math.max(...pts.map((p) => p.x));
  let y0 = yMin ?? Math.min(...pts.map((p) => p.y));
  let y1 = yMax ?? Math.max(...pts.map((p) => p.y));
  if (y0 === y1) {
    y0 -= 0.5;
    y1 += 0.5;
  }
  const px = (x: number) => m.l + ((x - x0) / (x1 - x0 || 1)) * (W - m.l - m.r);
  const py = (y: number) => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
  return (
    <figure className="rounded border bg-white p-2" data-testid={testId}>
      <svg viewBox={`0 0 ${W} ${H}`} className="w-full" role="img" aria-label={title}>
        <text x={m.l} y={14} fontSize="12" fontWeight="600" fill="#1e293b">
          {title}
        </text>
        {ticks(y0, y1).map((t) => (
          <g key={`y${t}`}>
            <line x1={m.l} x2={W - m.r} y1={py(t)} y2={py(t)} stroke="#e2e8f0" />
            <text x={m.l - 4} y={py(t) + 3} fontSize="9" textAnchor="end" fill="#475569">
              {fmt(t)}
            </text>
          </g>
        ))}
        {ticks(x0, x1, 5)
          .filter((t) => Number.isInteger(t))
          .map((t) => (
            <text key={`x${t}`} x={px(t)} y={H - m.b + 12} fontSize="9" textAnchor="middle" fill="#475569">
              {t}
            </text>
          ))}
        <line x1={m.l} x2={W - m.r} y1={H - m.b} y2={H - m.b} stroke="#94a3b8" />
        <line x1={m.l} x2={m.l} y1={m.t} y2={H - m.b} stroke="#94a3b8" />
        <text x={(m.l + W - m.r) / 2} y={H - 4} fontSize="9" textAnchor="middle" fill="#334155">
          {xLabel}
        </text>
        {series.map((s) => {
          const p = s.points.filter((q) => Number.isFinite(q.y));
          return (
            <g key={s.name}>
              <polyline
                points={p.map((q) => `${px(q.x)},${py(q.y)}`).join(" ")}
                fill="none"
                stroke={s.color}
                strokeWidth={1.8}
                strokeDasharray={s.dashed ? "5 4" : undefined}
              />
              {p.length <= 60 &&
                p.map((q) => (
                  <circle key={q.x} cx={px(q.x)} cy={py(q.y)} r={2.4} fill={s.color}>
                    <title>{`${s.name} @ ${q.x}: ${fmt(q.y)}`}</title>
                  </circle>
                ))}
            </g>
          );
        })}
      </svg>
      <figcaption className="flex flex-wrap gap-3 px-1 text-[11px] text-slate-600">
        {series.map((s) => (
          <span key={s.name} className="inline-flex items-center gap-1">
            <span className="inline-block h-0.5 w-4" style={{ background: s.color }} />
            {s.name}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
