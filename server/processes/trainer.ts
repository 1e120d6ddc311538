// The trainer service: picks the best TensorFlow.js backend present, then takes training-round
// jobs from pg-boss. Runs inside `npm start`, or alone on a GPU box (`pairwise trainer`) pointed
// at the same database.
import { env } from "../env";
import { getBoss, stopBoss } from "../jobs/boss";
import { startHeartbeat } from "./heartbeat";
import { runProcess } from "./run";

runProcess("trainer", async () => {
  const { selectBackend } = await import("../../trainer/index");
  const backend = await selectBackend({
    force: env().PAIRWISE_TF_BACKEND,
    log: (m: string) => console.log(`[trainer] ${m}`),
  });
  console.log(`[trainer] TensorFlow.js backend: ${backend.name} (${backend.detail})`);
  const boss = await getBoss();
  // Loaded after the backend is chosen, as the trainer library itself is.
  const { startTrainerService } = await import("../training/service");
  const stopJobs = await startTrainerService(boss, backend.name);
  const stopBeat = startHeartbeat("trainer", () => ({ backend: backend.name, detail: backend.detail }));
  return async () => {
    await stopJobs();
    await stopBoss();
    await stopBeat();
  };
});
