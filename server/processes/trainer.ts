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
  let stopJobs: (() => Promise<void>) | undefined;
  try {
    const modulePath = "../training/service"; // training rounds, when that feature is present
    const training = (await import(modulePath)) as {
      startTrainerService?: (b: typeof boss, backend: string) => Promise<() => Promise<void>>;
    };
    stopJobs = await training.startTrainerService?.(boss, backend.name);
  } catch (e) {
    if (
      (e as NodeJS.ErrnoException).code !== "ERR_MODULE_NOT_FOUND" &&
      !/Cannot find module/.test((e as Error).message)
    )
      throw e;
  }
  const stopBeat = startHeartbeat("trainer", () => ({ backend: backend.name, detail: backend.detail }));
  return async () => {
    await stopJobs?.();
    await stopBoss();
    await stopBeat();
  };
});
