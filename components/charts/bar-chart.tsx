// Hand-written SVG charts (no chart library): a bar chart over time and an interval chart.
// An SVG <title> gets one string child: React splits "{a}: {b}" into several text nodes, which
// the server's HTML and the browser's DOM do not agree on inside <title> (hydration error #418).
export function BarChart({
  data,
  height = 160,
  label,
  testId,
}: {
  data: Array<{ x: string; y: number }>;
  height?: number;
  label: string;
  testId?: string;
}) {
  const width = Math.max(320, data.length * 18);
  const pad = { top: 10, right: 8, bottom: 28, left: 36 };
  const max = Math.max(1, ...data.map((d) => d.y));
  const ticks = niceTicks(max);
  const top = ticks[ticks.length - 1] ?? max;
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const bw = innerW / Math.max(1, data.length);
  const yOf = (v: number) => pad.top + innerH - (v / top) * innerH;
  const step = Math.max(1, Math.ceil(data.length / 8)); // x labels: every step-th day, and the last
  return (
    <figure className="overflow-x-auto" data-testid={testId}>
      <svg
        role="img"
        aria-label={label}
        width={width}
        height={height}
        viewBox={`0 0 ${width} ${height}`}
        className="text-slate-700"
      >
        <title>{label}</title>
        {ticks.map((t) => (
          <g key={t}>
            <line x1={pad.left} x2={width - pad.right} y1={yOf(t)} y2={yOf(t)} stroke="#e2e8f0" />
            <text x={pad.left - 4} y={yOf(t) + 4} textAnchor="end" fontSize="10" fill="currentColor">
              {t}
            </text>
          </g>
        ))}
        {data.map((d, i) => (
          <g key={d.x}>
            <rect
              x={pad.left + i * bw + 1}
              y={yOf(d.y)}
              width={Math.max(1, bw - 2)}
              height={pad.top + innerH - yOf(d.y)}
              fill="#2563eb"
            >
              <title>{`${d.x}: ${d.y}`}</title>
            </rect>
            {(i % step === 0
              ? data.length - 1 - i >= step / 2 || i === data.length - 1
              : i === data.length - 1) && (
              <text
                x={pad.left + i * bw + bw / 2}
                y={height - 10}
                textAnchor="middle"
                fontSize="10"
                fill="currentColor"
              >
                {d.x.slice(5)}
              </text>
            )}
          </g>
        ))}
      </svg>
    </figure>
  );
}

function niceTicks(max: number): number[] {
  const step = Math.pow(10, Math.floor(Math.log10(max)));
  const s = max / step > 5 ? step * 2 : max / step > 2 ? step : step / 2;
  const st = Math.max(1, Math.round(s));
  const out: number[] = [];
  for (let v = 0; v <= max + st - 1e-9; v += st) out.push(v);
  return out;
}

/** Points with intervals on a shared axis, one row each (the leaderboard's 95% intervals). */
export function IntervalChart({
  rows,
  label,
  testId,
}: {
  rows: Array<{ name: string; value: number; lower: number; upper: number }>;
  label: string;
  testId?: string;
}) {
  if (rows.length === 0) return null;
  const width = 520;
  const rowH = 24;
  const pad = { left: 160, right: 20, top: 8, bottom: 24 };
  const height = pad.top + pad.bottom + rows.length * rowH;
  const lo = Math.min(...rows.map((r) => r.lower));
  const hi = Math.max(...rows.map((r) => r.upper));
  const span = Math.max(1, hi - lo);
  const xOf = (v: number) =>
    pad.left + ((v - lo + span * 0.05) / (span * 1.1)) * (width - pad.left - pad.right);
  return (
    <figure className="overflow-x-auto" data-testid={testId}>
      <svg
        role="img"
        aria-label={label}
        width={width}
        height={height}
        viewBox={`0 0 ${width} ${height}`}
        className="text-slate-700"
      >
        <title>{label}</title>
        {rows.map((r, i) => {
          const y = pad.top + i * rowH + rowH / 2;
          return (
            <g key={r.name}>
              <text x={pad.left - 8} y={y + 4} textAnchor="end" fontSize="11" fill="currentColor">
                {r.name.length > 24 ? r.name.slice(0, 23) + "…" : r.name}
              </text>
              <line x1={xOf(r.lower)} x2={xOf(r.upper)} y1={y} y2={y} stroke="#64748b" strokeWidth="2" />
              <circle cx={xOf(r.value)} cy={y} r="4" fill="#2563eb">
                <title>{`${r.name}: ${r.value.toFixed(0)} (${r.lower.toFixed(0)}–${r.upper.toFixed(0)})`}</title>
              </circle>
            </g>
          );
        })}
        <text x={xOf(lo)} y={height - 6} fontSize="10" fill="currentColor">
          {lo.toFixed(0)}
        </text>
        <text x={xOf(hi)} y={height - 6} fontSize="10" textAnchor="end" fill="currentColor">
          {hi.toFixed(0)}
        </text>
      </svg>
    </figure>
  );
}
