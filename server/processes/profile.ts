// Optional CPU profile of a process, for performance work: PAIRWISE_CPU_PROFILE=<folder> writes
// <name>-<pid>.cpuprofile there when the process stops (open it in Chrome DevTools), and the
// event loop's delay percentiles (<name>-<pid>.event-loop-delay.json, ms).
// (Node 20 refuses --cpu-prof in NODE_OPTIONS, so the profiler is started from inside.)
import fs from "node:fs";
import path from "node:path";
import inspector from "node:inspector";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { env } from "../env";

export function startCpuProfile(name: string): () => Promise<void> {
  const dir = env().PAIRWISE_CPU_PROFILE;
  if (!dir) return async () => {};
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const session = new inspector.Session();
  session.connect();
  session.post("Profiler.enable", () => session.post("Profiler.start"));
  return () =>
    new Promise<void>((resolve) => {
      session.post("Profiler.stop", (err, res) => {
        if (!err) {
          fs.mkdirSync(dir, { recursive: true });
          fs.writeFileSync(path.join(dir, `${name}-${process.pid}.cpuprofile`), JSON.stringify(res.profile));
          delay.disable();
          const ms = (ns: number) => Math.round(ns / 1e4) / 100;
          const loop = {
            p50: ms(delay.percentile(50)),
            p99: ms(delay.percentile(99)),
            max: ms(delay.max),
            mean: ms(delay.mean),
          };
          fs.writeFileSync(
            path.join(dir, `${name}-${process.pid}.event-loop-delay.json`),
            JSON.stringify(loop),
          );
        }
        session.disconnect();
        resolve();
      });
    });
}
