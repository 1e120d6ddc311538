// Training rounds for admins: overview, a round's detail and metrics, run now, retry, cancel,
// settings, checkpoint provenance, and the side-by-side playground. Thin: zod input plus one call
// into server/training (which never loads TensorFlow.js in the web app).
import { z } from "zod";
import { adminProcedure, router } from "../init";
import { db } from "../../db/client";
import { listProjects } from "../../projects/projects";
import { enqueueRound } from "../../training/jobs";
import { roundPreflight, runRoundNow } from "../../training/preflight";
import {
  cancelRound,
  checkpointProvenance,
  markRoundForRetry,
  updateTrainingSettings,
} from "../../training/rounds";
import { roundDetail, roundRollouts, trainingOverview } from "../../training/overview";
import { playground, PlaygroundInput } from "../../training/playground-queue";

const Id = z.string().min(1).max(200);

export const trainingRouter = router({
  projects: adminProcedure.query(async () =>
    (await listProjects(db())).map((p) => ({ id: p.id, slug: p.slug, name: p.name })),
  ),
  overview: adminProcedure
    .input(z.object({ project: Id }))
    .query(({ input }) => trainingOverview(input.project)),
  round: adminProcedure.input(z.object({ id: Id })).query(({ input }) => roundDetail(input.id)),
  /** Before "Run a round now": what the round will do, why pairs are missing, or why it is refused. */
  preflight: adminProcedure
    .input(z.object({ project: Id }))
    .query(({ input }) => roundPreflight(input.project)),
  rollouts: adminProcedure
    .input(
      z.object({
        roundId: Id,
        skip: z.number().int().min(0).default(0),
        take: z.number().int().min(1).max(200).default(50),
      }),
    )
    .query(({ input }) => roundRollouts(input.roundId, input)),
  runNow: adminProcedure
    .input(z.object({ projectId: Id }))
    .mutation(({ ctx, input }) => runRoundNow(input.projectId, ctx.user.id)),
  retry: adminProcedure.input(z.object({ id: Id })).mutation(async ({ input }) => {
    const r = await markRoundForRetry(input.id);
    await enqueueRound(r.id);
    return r;
  }),
  cancel: adminProcedure.input(z.object({ id: Id })).mutation(({ input }) => cancelRound(input.id)),
  updateSettings: adminProcedure
    .input(z.object({ projectId: Id, patch: z.record(z.string(), z.unknown()) }))
    .mutation(({ input }) => updateTrainingSettings(input.projectId, input.patch)),
  provenance: adminProcedure
    .input(z.object({ checkpointId: Id }))
    .query(({ input }) => checkpointProvenance(input.checkpointId)),
  playground: adminProcedure.input(PlaygroundInput).mutation(({ input }) => playground(input)),
});
