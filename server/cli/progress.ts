// A one-line progress bar on stderr, redrawn at most 10 times a second, only on a terminal.
import type { Io } from "./command";

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;

export function progressBar(
  io: Io,
  label: string,
): { update(p: { bytesDone: number; bytesTotal: number | null; rows: number }): void; done(): void } {
  const tty = Boolean(io.stderr.isTTY);
  const t0 = Date.now();
  let last = 0;
  let drawn = false;
  return {
    update(p) {
      if (!tty) return;
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      const secs = Math.max(0.001, (now - t0) / 1000);
      const rate = Math.round(p.rows / secs).toLocaleString("en");
      let bar = "";
      if (p.bytesTotal) {
        const f = Math.min(1, p.bytesDone / p.bytesTotal);
        const width = 24;
        const full = Math.round(f * width);
        bar = `[${"#".repeat(full)}${".".repeat(width - full)}] ${(f * 100).toFixed(0).padStart(3)}% ${mb(p.bytesDone)}/${mb(p.bytesTotal)} `;
      } else bar = `${mb(p.bytesDone)} `;
      const line = `${label} ${bar}${p.rows.toLocaleString("en")} rows, ${rate} rows/s`;
      io.stderr.write(`\r${line.slice(0, (io.stderr.columns ?? 120) - 1)}\x1b[K`);
      drawn = true;
    },
    done() {
      if (drawn) io.stderr.write("\r\x1b[K");
    },
  };
}
