// A hand-written SVG line chart (no chart library): series of (x, y) points on shared axes,
// with ticks, a legend and optional value labels. Used for bench/loop/loop.svg.

export interface Series {
  name: string;
  color: string;
  points: Array<{ x: number; y: number }>;
  dashed?: boolean;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  yMin?: number;
  yMax?: number;
  xTicks?: Array<{ x: number; label: string }>;
  labels?: boolean; // print each point's value
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function niceTicks(lo: number, hi: number, n = 5): number[] {
  const span = hi - lo || 1;
  const step = Math.pow(10, Math.floor(Math.log10(span / n)));
  const mult = [1, 2, 2.5, 5, 10].find((m) => span / (m * step) <= n) ?? 10;
  const s = mult * step;
  const out: number[] = [];
  for (let v = Math.ceil(lo / s) * s; v <= hi + 1e-9; v += s) out.push(Math.round(v / s) * s);
  return out;
}

export function lineChartSvg(series: Series[], o: ChartOptions): string {
  const W = o.width ?? 720;
  const H = o.height ?? 420;
  const m = { l: 64, r: 170, t: 44, b: 56 };
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  const ys = series.flatMap((s) => s.points.map((p) => p.y));
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  const y0 = o.yMin ?? Math.min(0, ...ys);
  const y1 = o.yMax ?? Math.max(...ys) * 1.1;
  const px = (x: number) => m.l + ((x - x0) / (x1 - x0 || 1)) * (W - m.l - m.r);
  const py = (y: number) => H - m.b - ((y - y0) / (y1 - y0 || 1)) * (H - m.t - m.b);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  parts.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  parts.push(
    `<text x="${W / 2 - m.r / 2 + m.l / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${esc(o.title)}</text>`,
  );
  for (const t of niceTicks(y0, y1)) {
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${py(t)}" y2="${py(t)}" stroke="#e5e7eb"/>`);
    parts.push(
      `<text x="${m.l - 8}" y="${py(t) + 4}" text-anchor="end" fill="#374151">${+t.toFixed(3)}</text>`,
    );
  }
  for (const t of o.xTicks ?? niceTicks(x0, x1).map((x) => ({ x, label: String(x) }))) {
    parts.push(
      `<line x1="${px(t.x)}" x2="${px(t.x)}" y1="${H - m.b}" y2="${H - m.b + 5}" stroke="#6b7280"/>`,
    );
    parts.push(
      `<text x="${px(t.x)}" y="${H - m.b + 19}" text-anchor="middle" fill="#374151">${esc(t.label)}</text>`,
    );
  }
  parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="#6b7280"/>`);
  parts.push(`<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" stroke="#6b7280"/>`);
  parts.push(
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 14}" text-anchor="middle" fill="#111827">${esc(o.xLabel)}</text>`,
  );
  parts.push(
    `<text transform="translate(18 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle" fill="#111827">${esc(o.yLabel)}</text>`,
  );
  series.forEach((s, i) => {
    const pts = s.points.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(" ");
    parts.push(
      `<polyline points="${pts}" fill="none" stroke="${s.color}" stroke-width="2.5"${s.dashed ? ' stroke-dasharray="7 5"' : ""}/>`,
    );
    for (const p of s.points) {
      parts.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="4" fill="${s.color}"/>`);
      // a value below another series' value at the same x is labeled below its point, so close values stay readable
      const below = series.some(
        (t, j) =>
          j !== i &&
          t.points.some(
            (q) => q.x === p.x && ((q.y > p.y && q.y - p.y < (y1 - y0) / 8) || (q.y === p.y && j < i)),
          ),
      );
      if (o.labels)
        parts.push(
          `<text x="${px(p.x).toFixed(1)}" y="${(py(p.y) + (below ? 17 : -9)).toFixed(1)}" text-anchor="middle" fill="${s.color}" font-size="11">${p.y.toFixed(3)}</text>`,
        );
    }
    const ly = m.t + 10 + i * 22;
    parts.push(
      `<line x1="${W - m.r + 14}" x2="${W - m.r + 40}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2.5"${s.dashed ? ' stroke-dasharray="7 5"' : ""}/>`,
    );
    parts.push(`<text x="${W - m.r + 46}" y="${ly + 4}" fill="#111827">${esc(s.name)}</text>`);
  });
  parts.push(`</svg>`);
  return parts.join("\n");
}
