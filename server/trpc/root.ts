// The app's tRPC router: one line per feature router (each feature adds its own).
import { router, createCallerFactory } from "./init";
import { systemRouter } from "./routers/system";
import { annotationRouter } from "./routers/annotation";

export const appRouter = router({
  system: systemRouter,
  annotation: annotationRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
