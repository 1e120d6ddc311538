// Judge runs: a judge × a project × a frozen selection of comparisons, executed by pg-boss jobs
// (server/judges/jobs.ts calls executeJudgeRun). This file holds the run's lifecycle (create,
// pause, resume, cancel, views); the work itself is in runner.ts.
import { Prisma, type JudgeAttempt, type JudgeAttemptStatus, type JudgeRun } from "@prisma/client";
import { z } from "zod";
import { db } from "../db/client";
import { DomainError } from "../errors";
import { judgeConfigRowOrThrow, type JudgeKind } from "./config";

/** Which comparisons a run judges; resolved to ids when the run is created. */
export const RunSelection = z.object({
  /** Explicit comparisons (of the project). Otherwise: every comparison matching the filter. */
  comparisonIds: z.array(z.string().min(1)).max(100_000).optional(),
  statuses: z
    .array(z.enum(["open", "complete", "review", "adjudicated"]))
    .min(1)
    .default(["open", "complete", "review"]),
  /** Gold items check annotators; judges skip them unless asked. */
  includeGold: z.boolean().default(false),
  /** At most this many comparisons (oldest first). */
  limit: z.number().int().min(1).max(100_000).default(10_000),
});
export type RunSelection = z.infer<typeof RunSelection>;

/** JudgeRun.selection as stored. */
export const StoredSelection = z.object({
  filter: RunSelection,
  comparisonIds: z.array(z.string()),
  excluded: z
    .object({ alreadyJudged: z.number().int(), unsupported: z.number().int() })
    .default({ alreadyJudged: 0, unsupported: 0 }),
});
export type StoredSelection = z.infer<typeof StoredSelection>;

export { RUN_STATUSES } from "@/server/enums";
import { RUN_STATUSES } from "@/server/enums";
export type RunStatus = (typeof RUN_STATUSES)[number];
export const TERMINAL: readonly RunStatus[] = ["cancelled", "succeeded", "completed_with_errors", "failed"];

/** The key that makes a judge version judge a comparison at most once, across runs and restarts. */
export function judgmentKey(judgeConfigId: string, version: number, comparisonId: string): string {
  return `ai:${judgeConfigId}:v${version}:${comparisonId}`;
}

/** Comparisons the judge kind can rule on: an LLM judge compares two answers; the others rank K. */
export function supportsComparison(kind: JudgeKind, completionCount: number): boolean {
  return kind === "llm" ? completionCount === 2 : completionCount >= 2;
}

export interface JudgeRunView {
  id: string;
  judgeConfigId: string;
  judgeName: string;
  judgeKind: JudgeKind;
  judgeVersion: number;
  projectId: string;
  status: RunStatus;
  total: number;
  done: number;
  failed: number;
  unparseable: number;
  inconsistent: number;
  /** done + failed + unparseable: comparisons with a final outcome. */
  processed: number;
  progress: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  error: string | null;
  excluded: StoredSelection["excluded"];
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export function toRunView(r: JudgeRun & { judgeConfig: { name: string; kind: string } }): JudgeRunView {
  const sel = StoredSelection.safeParse(r.selection);
  const processed = r.done + r.failed + r.unparseable;
  return {
    id: r.id,
    judgeConfigId: r.judgeConfigId,
    judgeName: r.judgeConfig.name,
    judgeKind: r.judgeConfig.kind as JudgeKind,
    judgeVersion: r.judgeVersion,
    projectId: r.projectId,
    status: r.status,
    total: r.total,
    done: r.done,
    failed: r.failed,
    unparseable: r.unparseable,
    inconsistent: r.inconsistent,
    processed,
    progress: r.total ? Math.min(1, processed / r.total) : 1,
    promptTokens: r.promptTokens,
    completionTokens: r.completionTokens,
    costUsd: r.costUsd,
    error: r.error,
    excluded: sel.success ? sel.data.excluded : { alreadyJudged: 0, unsupported: 0 },
    createdAt: r.createdAt,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
  };
}

const withJudge = { judgeConfig: { select: { name: true, kind: true } } } as const;

export async function getJudgeRun(id: string): Promise<JudgeRunView> {
  const r = await db().judgeRun.findUnique({ where: { id }, include: withJudge });
  if (!r) throw new DomainError("not_found", `No judge run ${id}.`);
  return toRunView(r);
}

export async function listJudgeRuns(
  opts: { projectId?: string; judgeConfigId?: string; take?: number } = {},
): Promise<JudgeRunView[]> {
  const rows = await db().judgeRun.findMany({
    where: {
      ...(opts.projectId ? { projectId: opts.projectId } : {}),
      ...(opts.judgeConfigId ? { judgeConfigId: opts.judgeConfigId } : {}),
    },
    include: withJudge,
    orderBy: { createdAt: "desc" },
    take: opts.take ?? 50,
  });
  return rows.map(toRunView);
}

/** Ids of comparisons (among `ids`) this judge version has judged already. */
export async function judgedComparisonIds(
  judgeConfigId: string,
  version: number,
  ids: readonly string[],
): Promise<Set<string>> {
  const out = new Set<string>();
  for (let i = 0; i < ids.length; i += 5000) {
    const chunk = ids.slice(i, i + 5000);
    const rows = await db().judgment.findMany({
      where: { idempotencyKey: { in: chunk.map((c) => judgmentKey(judgeConfigId, version, c)) } },
      select: { comparisonId: true },
    });
    for (const r of rows) out.add(r.comparisonId);
  }
  return out;
}

export interface CreateRunInput {
  judgeConfigId: string;
  projectId: string;
  selection?: z.input<typeof RunSelection>;
  createdById?: string | null;
}

/**
 * Creates a run over the selection (frozen as comparison ids, minus those this judge version has
 * judged and those its kind cannot judge). The caller enqueues it (jobs.ts: startJudgeRun).
 */
export async function createJudgeRun(input: CreateRunInput): Promise<JudgeRunView> {
  const cfg = await judgeConfigRowOrThrow(input.judgeConfigId);
  if (!cfg.active)
    throw new DomainError(
      "bad_request",
      `Judge "${cfg.name}" is switched off; switch it on before starting a run.`,
    );
  if (cfg.projectId && cfg.projectId !== input.projectId) {
    throw new DomainError(
      "bad_request",
      `Judge "${cfg.name}" belongs to another project; use a judge of this project or a shared one.`,
    );
  }
  const project = await db().project.findUnique({ where: { id: input.projectId }, select: { id: true } });
  if (!project) throw new DomainError("not_found", `No project ${input.projectId}.`);
  const parsed = RunSelection.safeParse(input.selection ?? {});
  if (!parsed.success)
    throw new DomainError(
      "bad_request",
      `Invalid selection: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  const filter = parsed.data;

  const candidates = await db().comparison.findMany({
    where: {
      projectId: input.projectId,
      ...(filter.comparisonIds ? { id: { in: filter.comparisonIds } } : { status: { in: filter.statuses } }),
      ...(filter.includeGold ? {} : { isGold: false }),
    },
    select: { id: true, completionIds: true },
    orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    take: filter.limit,
  });
  if (filter.comparisonIds) {
    const found = new Set(candidates.map((c) => c.id));
    const missing = filter.comparisonIds.filter((id) => !found.has(id));
    if (missing.length && candidates.length < filter.limit) {
      throw new DomainError(
        "bad_request",
        `${missing.length} selected comparison(s) are not in this project (or are gold items): ${missing.slice(0, 3).join(", ")}${missing.length > 3 ? ", …" : ""}.`,
      );
    }
  }
  const supported = candidates.filter((c) =>
    supportsComparison(cfg.kind as JudgeKind, c.completionIds.length),
  );
  const judged = await judgedComparisonIds(
    cfg.id,
    cfg.version,
    supported.map((c) => c.id),
  );
  const ids = supported.map((c) => c.id).filter((id) => !judged.has(id));
  const selection: StoredSelection = {
    filter,
    comparisonIds: ids,
    excluded: { alreadyJudged: judged.size, unsupported: candidates.length - supported.length },
  };
  const run = await db().judgeRun.create({
    data: {
      judgeConfigId: cfg.id,
      judgeVersion: cfg.version,
      projectId: input.projectId,
      selection: selection as unknown as Prisma.InputJsonValue,
      status: ids.length ? "queued" : "succeeded",
      total: ids.length,
      createdById: input.createdById ?? null,
      ...(ids.length ? {} : { finishedAt: new Date() }),
    },
    include: withJudge,
  });
  return toRunView(run);
}

async function runRowOrThrow(id: string) {
  const r = await db().judgeRun.findUnique({ where: { id }, select: { id: true, status: true } });
  if (!r) throw new DomainError("not_found", `No judge run ${id}.`);
  return r as { id: string; status: RunStatus };
}

/** Stops taking new comparisons; requests in flight finish and are recorded. */
export async function pauseJudgeRun(id: string): Promise<JudgeRunView> {
  const r = await runRowOrThrow(id);
  if (r.status !== "queued" && r.status !== "running") {
    throw new DomainError("conflict", `This run is ${r.status}; only a queued or running run can be paused.`);
  }
  await db().judgeRun.updateMany({
    where: { id, status: { in: ["queued", "running"] } },
    data: { status: "paused" },
  });
  return getJudgeRun(id);
}

/** Marks a paused (or failed) run queued again; the caller enqueues it (jobs.ts: startJudgeRun). */
export async function markRunResumed(id: string): Promise<JudgeRunView> {
  const r = await runRowOrThrow(id);
  if (r.status !== "paused" && r.status !== "failed") {
    throw new DomainError("conflict", `This run is ${r.status}; only a paused or failed run can be resumed.`);
  }
  await db().judgeRun.updateMany({
    where: { id, status: { in: ["paused", "failed"] } },
    data: { status: "queued", error: null, finishedAt: null },
  });
  return getJudgeRun(id);
}

/** Stops the run for good: requests in flight are aborted; what was recorded stays. */
export async function cancelJudgeRun(id: string): Promise<JudgeRunView> {
  const r = await runRowOrThrow(id);
  if (TERMINAL.includes(r.status)) throw new DomainError("conflict", `This run is already ${r.status}.`);
  await db().judgeRun.updateMany({
    where: { id, status: { notIn: [...TERMINAL] } },
    data: { status: "cancelled", finishedAt: new Date() },
  });
  return getJudgeRun(id);
}

/** A run's calls, newest first (the admin UI's detail view). */
export async function runAttempts(
  runId: string,
  opts: { status?: JudgeAttemptStatus; take?: number } = {},
): Promise<JudgeAttempt[]> {
  return db().judgeAttempt.findMany({
    where: { runId, ...(opts.status ? { status: opts.status } : {}) },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: opts.take ?? 50,
  });
}
