// Optional CPU profile of a process, for performance work: PAIRWISE_CPU_PROFILE=<folder> writes
// <name>-<pid>.cpuprofile there when the process stops (open it in Chrome DevTools).
// (Node 20 refuses --cpu-prof in NODE_OPTIONS, so the profiler is started from inside.)
import fs from "node:fs";
import path from "node:path";
import inspector from "node:inspector";

export function startCpuProfile(name: string): () => Promise<void> {
  // eslint-disable-next-line no-restricted-properties -- a developer switch, not configuration
  const dir = process.env.PAIRWISE_CPU_PROFILE;
  if (!dir) return async () => {};
  const session = new inspector.Session();
  session.connect();
  session.post("Profiler.enable", () => session.post("Profiler.start"));
  return () =>
    new Promise<void>((resolve) => {
      session.post("Profiler.stop", (err, res) => {
        if (!err) {
          fs.mkdirSync(dir, { recursive: true });
          fs.writeFileSync(path.join(dir, `${name}-${process.pid}.cpuprofile`), JSON.stringify(res.profile));
        }
        session.disconnect();
        resolve();
      });
    });
}
