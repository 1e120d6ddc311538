import { z } from "zod";
import { adminProcedure, protectedProcedure, router } from "../init";
import { listServices } from "../../processes/heartbeat";

export const systemRouter = router({
  me: protectedProcedure.query(({ ctx }) => ctx.user),
  health: adminProcedure.input(z.object({}).optional()).query(() => listServices()),
});
