// The embedded database process: PGlite on disk, served on localhost over the Postgres protocol.
// Ctrl-C (SIGINT/SIGTERM from the supervisor) stops accepting clients, lets in-flight work finish,
// and closes PGlite cleanly, so the data folder is never left half-written.
import fs from "node:fs";
import path from "node:path";
import { env } from "../env";
import { startEmbeddedDatabase } from "../db/embedded";
import { runtimeFile } from "../db/connect";
import { runProcess } from "./run";

runProcess("database", async () => {
  const e = env();
  const started = await startEmbeddedDatabase({
    dataDir: e.dataDir,
    port: e.PAIRWISE_DB_PORT,
    host: "127.0.0.1",
    log: (m) => console.log(`[database] ${m}`),
  });
  console.log(
    `[database] PGlite in ${path.join(e.dataDir, "pg")} serving ${started.url.replace(/:[^:@/]+@/, ":***@")}`,
  );
  // Lets CLI commands find the running database while `npm start` holds the data folder.
  fs.writeFileSync(runtimeFile(e.dataDir), JSON.stringify({ pid: process.pid, url: started.url }));
  process.send?.({ type: "url", url: started.url });
  return async () => {
    fs.rmSync(runtimeFile(e.dataDir), { force: true });
    await started.stop();
    console.log("[database] closed cleanly");
  };
});
