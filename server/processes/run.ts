// Shared bootstrap for a long-running process: parse config, run, stop cleanly on SIGINT/SIGTERM.
import { ConfigError, env } from "../env";

export function runProcess(name: string, main: () => Promise<() => Promise<void>>): void {
  const log = (m: string) => console.log(`[${name}] ${m}`);
  let stop: (() => Promise<void>) | undefined;
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    const force = setTimeout(() => {
      log("did not stop within 25 s; exiting");
      process.exit(1);
    }, 25_000);
    force.unref();
    try {
      await stop?.();
    } catch (e) {
      log(`error while stopping: ${(e as Error).message}`);
    }
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("disconnect", () => void shutdown("supervisor gone")); // never outlive `npm start`
  (async () => {
    try {
      env();
      stop = await main();
      if (process.send) process.send({ type: "ready", name });
    } catch (e) {
      if (e instanceof ConfigError) console.error(e.message);
      else console.error(`[${name}] failed to start: ${(e as Error).stack ?? e}`);
      process.exit(1);
    }
  })();
}
