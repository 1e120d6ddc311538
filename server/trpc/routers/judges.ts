// AI judges: configurations (the API key goes in, never comes out: views say "set"/"not set"),
// runs (start, pause, resume, cancel, live progress and cost), the agreement report, and
// generation jobs. Thin: zod input + one call into server/judges or server/generation.
// Imports only modules without the trainer (the runner and generation run in the worker).
import { z } from "zod";
import { adminProcedure, router } from "../init";
import { db } from "../../db/client";
import { getProjectOrThrow } from "../../projects/projects";
import { audit } from "../../audit/audit";
import {
  createJudgeConfig,
  getJudgeConfig,
  JUDGE_KINDS,
  listJudgeConfigs,
  updateJudgeConfig,
} from "../../judges/config";
import { BUILTIN_RUBRICS, PLACEHOLDERS, type BuiltinRubricId } from "../../judges/rubrics";
import {
  cancelJudgeRun,
  getJudgeRun,
  listJudgeRuns,
  pauseJudgeRun,
  runAttempts,
  RunSelection,
} from "../../judges/runs";
import { resumeJudgeRun, startJudgeRun } from "../../judges/queue";
import { judgeAgreementReport, withoutNaN } from "../../judges/agreement";
import { enqueueGeneration, getGenerationJob } from "../../generation/queue";
import { EndpointSource, CheckpointSource, Sampling } from "../../generation/schema";

const RunRef = z.object({ runId: z.string().min(1) });
const ConfigPatch = z.object({
  name: z.string().optional(),
  baseUrl: z.string().nullish(),
  model: z.string().nullish(),
  apiKey: z.string().max(4096).nullish(),
  temperature: z.number().optional(),
  maxTokens: z.number().int().optional(),
  rubric: z.string().nullish(),
  systemPrompt: z.string().optional(),
  positionSwap: z.boolean().optional(),
  concurrency: z.number().int().optional(),
  requestsPerMinute: z.number().int().nullish(),
  tokensPerMinute: z.number().int().nullish(),
  timeoutMs: z.number().int().optional(),
  costPerMInputTokens: z.number().optional(),
  costPerMOutputTokens: z.number().optional(),
  logprobs: z.boolean().optional(),
  active: z.boolean().optional(),
});

const ConfigCreate = ConfigPatch.extend({
  /** Project id or slug; omitted = a judge shared by all projects. */
  project: z.string().nullish(),
  name: z.string(),
  kind: z.enum(JUDGE_KINDS),
  rubricPreset: z.enum(Object.keys(BUILTIN_RUBRICS) as [BuiltinRubricId, ...BuiltinRubricId[]]).optional(),
});

export const judgesRouter = router({
  rubrics: adminProcedure.query(() => ({
    placeholders: PLACEHOLDERS,
    presets: Object.entries(BUILTIN_RUBRICS).map(([id, r]) => ({
      id,
      label: r.label,
      system: r.system,
      template: r.template,
    })),
  })),
  configs: adminProcedure
    .input(z.object({ project: z.string().optional() }).optional())
    .query(async ({ input }) => {
      const projectId = input?.project ? (await getProjectOrThrow(db(), input.project)).id : undefined;
      return listJudgeConfigs({ projectId });
    }),
  config: adminProcedure
    .input(z.object({ id: z.string().min(1) }))
    .query(({ input }) => getJudgeConfig(input.id)),
  createConfig: adminProcedure.input(ConfigCreate).mutation(async ({ ctx, input }) => {
    const { project, ...rest } = input;
    const projectId = project ? (await getProjectOrThrow(db(), project)).id : null;
    const created = await createJudgeConfig({ ...rest, projectId });
    await audit(db(), {
      actorId: ctx.user.id,
      action: "judge.create",
      target: created.id,
      data: { name: input.name, baseUrl: input.baseUrl ?? null, apiKey: input.apiKey ? "set" : "not set" },
    });
    return created;
  }),
  updateConfig: adminProcedure
    .input(z.object({ id: z.string().min(1), patch: ConfigPatch }))
    .mutation(async ({ ctx, input }) => {
      const before = await db().judgeConfig.findUnique({
        where: { id: input.id },
        select: { baseUrl: true },
      });
      const updated = await updateJudgeConfig(input.id, input.patch);
      // Key and URL changes are audited (the key itself never is).
      const keyChanged = input.patch.apiKey !== undefined;
      const urlChanged =
        input.patch.baseUrl !== undefined && (input.patch.baseUrl ?? null) !== (before?.baseUrl ?? null);
      if (keyChanged || urlChanged)
        await audit(db(), {
          actorId: ctx.user.id,
          action: keyChanged ? "judge.key" : "judge.url",
          target: input.id,
          data: {
            ...(urlChanged
              ? { baseUrlFrom: before?.baseUrl ?? null, baseUrlTo: input.patch.baseUrl ?? null }
              : {}),
            ...(keyChanged ? { apiKey: input.patch.apiKey ? "replaced" : "cleared" } : {}),
          },
        });
      return updated;
    }),

  runs: adminProcedure
    .input(z.object({ project: z.string().optional(), judgeConfigId: z.string().optional() }).optional())
    .query(async ({ input }) => {
      const projectId = input?.project ? (await getProjectOrThrow(db(), input.project)).id : undefined;
      return listJudgeRuns({ projectId, judgeConfigId: input?.judgeConfigId });
    }),
  run: adminProcedure.input(RunRef).query(async ({ input }) => ({
    run: await getJudgeRun(input.runId),
    problems: await runAttempts(input.runId, { status: undefined, take: 200 }).then((a) =>
      a
        .filter((x) => x.status !== "ok")
        .slice(0, 50)
        .map((x) => ({
          id: x.id,
          comparisonId: x.comparisonId,
          order: x.order,
          try: x.try,
          status: x.status,
          error: x.error,
          rawReply: x.rawReply?.slice(0, 500) ?? null,
          createdAt: x.createdAt,
        })),
    ),
  })),
  startRun: adminProcedure
    .input(
      z.object({
        judgeConfigId: z.string().min(1),
        project: z.string().min(1),
        selection: RunSelection.partial().optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const project = await getProjectOrThrow(db(), input.project);
      return startJudgeRun({
        judgeConfigId: input.judgeConfigId,
        projectId: project.id,
        selection: input.selection,
        createdById: ctx.user.id,
      });
    }),
  pauseRun: adminProcedure.input(RunRef).mutation(({ input }) => pauseJudgeRun(input.runId)),
  resumeRun: adminProcedure.input(RunRef).mutation(({ input }) => resumeJudgeRun(input.runId)),
  cancelRun: adminProcedure.input(RunRef).mutation(({ input }) => cancelJudgeRun(input.runId)),

  agreement: adminProcedure
    .input(
      z.object({
        project: z.string().min(1),
        judgeConfigId: z.string().min(1),
        version: z.number().int().optional(),
      }),
    )
    .query(async ({ input }) => {
      const project = await getProjectOrThrow(db(), input.project);
      return withoutNaN(
        await judgeAgreementReport({
          projectId: project.id,
          judgeConfigId: input.judgeConfigId,
          version: input.version,
        }),
      );
    }),

  generate: adminProcedure
    .input(
      z.object({
        project: z.string().min(1),
        promptIds: z.array(z.string().min(1)).min(1).max(100_000),
        endpoints: z.array(EndpointSource).optional(),
        models: z.array(CheckpointSource).optional(),
        n: z.number().int().min(1).max(16).optional(),
        sampling: Sampling.partial().optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const project = await getProjectOrThrow(db(), input.project);
      const { project: _p, ...rest } = input;
      return {
        jobId: await enqueueGeneration({ ...rest, projectId: project.id }, { createdById: ctx.user.id }),
      };
    }),
  generationJob: adminProcedure
    .input(z.object({ jobId: z.string().min(1) }))
    .query(({ input }) => getGenerationJob(input.jobId)),
});
