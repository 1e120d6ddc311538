// The OpenAI-compatible server for our own checkpoints (the same service as `pairwise serve`).
import { env } from "../env";
import { startHeartbeat } from "./heartbeat";
import { runProcess } from "./run";

runProcess("serve", async () => {
  const e = env();
  const modulePath = "../serve/server"; // built by the AI-judges feature
  const mod = (await import(modulePath)) as {
    startServeServer: (o: {
      port: number;
      host: string;
      checkpointDir: string;
    }) => Promise<{ url: string; close: () => Promise<void> }>;
  };
  const s = await mod.startServeServer({
    port: e.PAIRWISE_SERVE_PORT,
    host: e.PAIRWISE_HOST,
    checkpointDir: e.checkpointDir,
  });
  const stopBeat = startHeartbeat("serve", () => ({ url: s.url }));
  console.log(`[serve] ready at ${s.url}`);
  return async () => {
    await s.close();
    await stopBeat();
  };
});
