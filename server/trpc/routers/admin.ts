// Admin procedures: projects, people and invites, dashboards and the leaderboard.
import { z } from "zod";
import { adminProcedure, router } from "../init";
import { db } from "../../db/client";
import { ROLES } from "../../auth/roles";
import {
  createProject,
  getProject,
  listProjects,
  ProjectInput,
  ProjectPatch,
  updateProject,
} from "../../projects/projects";
import {
  createInvite,
  listInvites,
  listPeople,
  revokeInvite,
  setActive,
  setRole,
} from "../../annotation/people";
import { leaderboard, projectDashboard, projectSummaries } from "../../annotation/dashboard";
import { exportEstimate, getImportJob, listImportJobs, queueImport } from "../../annotation/data-admin";
import { ExportFormat } from "../../data/export";
import { findProjectByRef } from "../../projects/projects";
import { listMembers, removeMember, setMember } from "../../annotation/members";
import { listAudit } from "../../audit/audit";
import { enforce } from "../../auth/rate-limit";

const ProjectRef = z.object({ project: z.string().min(1) });

export const adminRouter = router({
  projects: adminProcedure
    .input(z.object({ includeArchived: z.boolean().optional() }).optional())
    .query(({ input }) => listProjects(db(), input ?? {})),
  project: adminProcedure.input(ProjectRef).query(({ input }) => getProject(db(), input.project)),
  createProject: adminProcedure.input(ProjectInput).mutation(({ input }) => createProject(db(), input)),
  updateProject: adminProcedure
    .input(ProjectRef.extend({ patch: ProjectPatch }))
    .mutation(({ input }) => updateProject(db(), input.project, input.patch)),

  people: adminProcedure.query(() => listPeople(db())),
  invites: adminProcedure.query(() => listInvites(db())),
  createInvite: adminProcedure
    .input(
      z.object({
        email: z.string().max(320).optional(),
        role: z.enum(ROLES),
        expiresInDays: z.number().int().min(1).max(90).optional(),
      }),
    )
    .mutation(({ ctx, input }) => createInvite(db(), ctx.user.id, input)),
  revokeInvite: adminProcedure
    .input(z.object({ inviteId: z.string().min(1) }))
    .mutation(({ ctx, input }) => revokeInvite(db(), ctx.user.id, input.inviteId)),
  setRole: adminProcedure
    .input(z.object({ userId: z.string().min(1), role: z.enum(ROLES) }))
    .mutation(({ ctx, input }) => setRole(db(), ctx.user.id, input)),
  setActive: adminProcedure
    .input(z.object({ userId: z.string().min(1), active: z.boolean() }))
    .mutation(({ ctx, input }) => setActive(db(), ctx.user.id, input)),

  // Project membership (server/auth/access.ts): who annotates, reviews or administers each project.
  members: adminProcedure
    .input(z.object({ project: z.string().min(1).optional() }).optional())
    .query(({ input }) => listMembers(db(), input ?? {})),
  setMember: adminProcedure
    .input(z.object({ project: z.string().min(1), user: z.string().min(1), role: z.enum(ROLES).optional() }))
    .mutation(({ ctx, input }) => setMember(db(), ctx.user.id, input)),
  removeMember: adminProcedure
    .input(z.object({ project: z.string().min(1), user: z.string().min(1) }))
    .mutation(({ ctx, input }) => removeMember(db(), ctx.user.id, input)),
  audit: adminProcedure
    .input(
      z
        .object({
          action: z.string().max(100).optional(),
          take: z.number().int().min(1).max(1000).optional(),
        })
        .optional(),
    )
    .query(({ input }) => listAudit(db(), input ?? {})),

  summaries: adminProcedure.query(() => projectSummaries(db())),
  dashboard: adminProcedure
    .input(
      ProjectRef.extend({
        days: z.number().int().min(1).max(365).optional(),
        tzOffsetMinutes: z.number().int().min(-900).max(900).optional(),
      }),
    )
    .query(({ input }) => projectDashboard(db(), input.project, input)),
  queueImport: adminProcedure
    .input(
      z.object({
        project: z.string().min(1),
        fileName: z.string().min(1).max(300),
        bytesTotal: z.number().int().min(0).optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      await enforce(
        [
          ["import.account", ctx.user.id],
          ["import.ip", ctx.ip ?? "unknown"],
        ],
        "imports",
      );
      return queueImport(db(), { ...input, userId: ctx.user.id });
    }),
  importJob: adminProcedure
    .input(z.object({ jobId: z.string().min(1) }))
    .query(({ input }) => getImportJob(db(), input.jobId)),
  importJobs: adminProcedure.input(ProjectRef).query(async ({ input }) => {
    const p = await findProjectByRef(db(), input.project);
    return p ? listImportJobs(db(), { projectId: p.id, limit: 20 }) : [];
  }),
  exportEstimate: adminProcedure
    .input(ProjectRef.extend({ format: ExportFormat }))
    .query(({ input }) => exportEstimate(db(), input)),
  leaderboard: adminProcedure
    .input(ProjectRef.extend({ origin: z.enum(["human", "ai", "all"]).optional() }))
    .query(({ input }) => leaderboard(db(), input.project, { origin: input.origin })),
});
