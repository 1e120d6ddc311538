// The worker: pg-boss jobs that wait on the network -- AI-judge runs (and their minute sweep) and
// generation requests. Features register their jobs through `registerJobs(boss)`; this file lists
// them. Its pg-boss also runs the clock of every schedule (`schedule: true`), the training tick
// included; training rounds themselves run in the trainer process (server/training/service.ts).
// Imports and exports stream inside the request that carries them.
import type PgBoss from "pg-boss";
import { getBoss, stopBoss } from "../jobs/boss";
import { startHeartbeat } from "./heartbeat";
import { runProcess } from "./run";

type Registrar = (boss: PgBoss) => Promise<void>;

/** Feature job modules; each exports registerJobs. */
const jobModules: Array<() => Promise<{ registerJobs?: Registrar }>> = [
  () => import("../judges/jobs"), // AI-judge runs
  () => import("../generation/jobs"), // completions from models -> comparisons
];

runProcess("worker", async () => {
  const boss = await getBoss({ supervise: true, schedule: true });
  for (const load of jobModules) {
    const mod = await load();
    await mod.registerJobs?.(boss);
  }
  const stopBeat = startHeartbeat("worker", () => ({ jobModules: jobModules.length }));
  console.log(`[worker] connected to pg-boss; ${jobModules.length} job module(s) registered`);
  return async () => {
    await stopBoss(); // graceful: waits for active jobs
    await stopBeat();
  };
});
