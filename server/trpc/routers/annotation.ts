// Annotator procedures: the queue (next, heartbeat, resume, skip, flag), submit, and progress.
// Thin: zod input plus one call into server/annotation. Next and submit, the hot pair, run through
// node-postgres (appSql), like the REST endpoints (server/api/annotation.ts).
import { z } from "zod";
import { protectedProcedure, router } from "../init";
import { appSql, db } from "../../db/client";
import {
  annotatorProject,
  flagAssignment,
  FlagKind,
  heartbeat,
  leaseNext,
  listAnnotatorProjects,
  resumeExpired,
  skipAssignment,
  SkipReason,
} from "../../annotation/queue";
import { SubmitInput, submitJudgment } from "../../annotation/submit";
import { myProgress } from "../../annotation/progress";
import { projectIdsWithRole, requireProjectRole } from "../../auth/access";

const AssignmentRef = z.object({ assignmentId: z.string().min(1) });

export const annotationRouter = router({
  // Only projects the caller is a member of (server/auth/access.ts).
  projects: protectedProcedure.query(async ({ ctx }) => {
    const mine = await projectIdsWithRole(ctx.user);
    const all = await listAnnotatorProjects(db(), ctx.user.id);
    return mine === "all" ? all : all.filter((p) => mine.includes(p.id));
  }),
  project: protectedProcedure
    .input(z.object({ project: z.string().min(1) }))
    .query(async ({ ctx, input }) => {
      const p = await annotatorProject(db(), input.project);
      await requireProjectRole(ctx.user, p.id);
      return p;
    }),
  next: protectedProcedure
    .input(z.object({ projectId: z.string().min(1) }))
    .mutation(async ({ ctx, input }) => {
      await requireProjectRole(ctx.user, input.projectId);
      return leaseNext(appSql(), { projectId: input.projectId, userId: ctx.user.id });
    }),
  heartbeat: protectedProcedure
    .input(AssignmentRef)
    .mutation(({ ctx, input }) => heartbeat(db(), { ...input, userId: ctx.user.id })),
  resume: protectedProcedure.input(AssignmentRef).mutation(async ({ ctx, input }) => {
    // Taking a lease back is leasing: only in projects the caller still works on.
    const a = await db().assignment.findUnique({
      where: { id: input.assignmentId },
      select: { projectId: true },
    });
    if (a) await requireProjectRole(ctx.user, a.projectId);
    return resumeExpired(db(), { ...input, userId: ctx.user.id });
  }),
  skip: protectedProcedure
    .input(AssignmentRef.extend({ reason: z.enum(SkipReason), note: z.string().max(500).optional() }))
    .mutation(({ ctx, input }) => skipAssignment(db(), { ...input, userId: ctx.user.id })),
  flag: protectedProcedure
    .input(AssignmentRef.extend({ flag: z.enum(FlagKind), reason: z.string().max(2000) }))
    .mutation(({ ctx, input }) => flagAssignment(db(), { ...input, userId: ctx.user.id })),
  submit: protectedProcedure
    .input(SubmitInput)
    .mutation(({ ctx, input }) => submitJudgment(appSql(), ctx.user.id, input)),
  progress: protectedProcedure
    .input(
      z.object({
        projectId: z.string().optional(),
        tzOffsetMinutes: z.number().int().min(-900).max(900).optional(),
      }),
    )
    .query(({ ctx, input }) => myProgress(db(), { userId: ctx.user.id, ...input })),
});
