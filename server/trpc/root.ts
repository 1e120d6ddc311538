// The app's tRPC router: one line per feature router (each feature adds its own).
import { router, createCallerFactory } from "./init";
import { systemRouter } from "./routers/system";
import { annotationRouter } from "./routers/annotation";
import { reviewRouter } from "./routers/review";
import { adminRouter } from "./routers/admin";
import { inviteRouter } from "./routers/invite";
import { judgesRouter } from "./routers/judges";
import { trainingRouter } from "./routers/training";

export const appRouter = router({
  system: systemRouter,
  annotation: annotationRouter,
  review: reviewRouter,
  admin: adminRouter,
  invite: inviteRouter,
  judges: judgesRouter,
  training: trainingRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
