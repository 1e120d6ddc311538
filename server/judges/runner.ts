// Executes a judge run: claims it (a lease in the JudgeRun row, so one runner works on a run at a
// time and a crashed runner's run is taken over when its lease runs out), judges the comparisons
// still pending with the judge's concurrency, records judgments idempotently and keeps the run's
// counters. Watches the run's status while working: pause stops taking new comparisons, cancel
// also aborts the requests in flight.
//
// Crash safety: a judge version's judgment of a comparison has a fixed idempotency key
// (`ai:<judgeConfigId>:v<version>:<comparisonId>`), attempts are unique per (run, comparison,
// order, try), and a restarted run (1) recounts its counters from those rows, (2) skips
// comparisons already judged, failed or unparseable, and (3) reuses replies it already paid for.
import os from "node:os";
import crypto from "node:crypto";
import type { JudgeConfig } from "@prisma/client";
import { isUniqueViolation } from "@/server/db/sql";
import { db } from "../db/client";
import { recordJudgment } from "../data/judgments";
import { newId } from "../data/ids";
import { parseLabelSchema, parseProjectSettings } from "../projects/schema";
import { judgeConfigRowOrThrow, judgeSecret, type JudgeKind } from "./config";
import { gateFor } from "./limiter";
import { storableText } from "./content";
import {
  llmJudge,
  ruleJudge,
  rewardModelJudge,
  JudgeSetupError,
  UNPARSEABLE_TRIES,
  type AttemptSink,
  type ComparisonContent,
  type Judge,
  type JudgeOutcome,
} from "./kinds";
import type { RetryPolicy } from "./openai-client";
import { judgedComparisonIds, judgmentKey, StoredSelection, TERMINAL, type RunStatus } from "./runs";

/** Priority given to comparisons the AI was unsure about: above anything a training round sets. */
export const AI_UNCERTAIN_PRIORITY = 1_000_000;

export interface ExecuteOptions {
  /** Process shutdown: stop taking work and abort requests in flight (the run stays resumable). */
  signal?: AbortSignal;
  /** Stop taking new comparisons after this long and return "more" (the job re-enqueues). */
  maxMs?: number;
  /** Overrides of the judge's transport retry policy (tests, benchmarks). */
  retry?: Partial<RetryPolicy>;
  /** How often the run's status is re-read and the lease renewed (default 1 s). */
  pollMs?: number;
  /** Lease length (default 60 s): how soon another runner may take over after a crash. */
  leaseMs?: number;
  owner?: string;
  log?: (msg: string) => void;
  /** Called after each comparison reaches an outcome (tests simulate a crash from here). */
  onOutcome?: (comparisonId: string, outcome: JudgeOutcome["status"]) => void;
}

type StopReason = "paused" | "cancelled" | "lost" | "deadline" | "signal" | "fatal";

export type ExecuteResult = "finished" | "paused" | "cancelled" | "failed" | "more" | "busy" | "stopped";

export function newRunnerId(): string {
  return `${os.hostname()}:${process.pid}:${crypto.randomBytes(4).toString("hex")}`;
}

/** Claims the run (or renews our claim). Returns the run's status, or null when another runner holds it. */
async function claim(runId: string, owner: string, leaseMs: number): Promise<{ status: RunStatus } | null> {
  const rows = await db().$queryRaw<Array<{ status: RunStatus }>>`
    UPDATE "JudgeRun" SET
      "leaseOwner" = ${owner},
      "leaseUntil" = now() + (${leaseMs}::int * interval '1 millisecond'),
      status = CASE WHEN status = 'queued' THEN 'running' ELSE status END,
      "startedAt" = COALESCE("startedAt", now())
    WHERE id = ${runId} AND status IN ('queued', 'running')
      AND ("leaseOwner" IS NULL OR "leaseOwner" = ${owner} OR "leaseUntil" IS NULL OR "leaseUntil" < now())
    RETURNING status`;
  return rows[0] ? { status: rows[0].status } : null;
}

/** Renews the lease and reads the status; null when the lease was lost (another runner took over). */
async function heartbeat(runId: string, owner: string, leaseMs: number): Promise<RunStatus | null> {
  const rows = await db().$queryRaw<Array<{ status: RunStatus }>>`
    UPDATE "JudgeRun" SET "leaseUntil" = now() + (${leaseMs}::int * interval '1 millisecond')
    WHERE id = ${runId} AND "leaseOwner" = ${owner}
    RETURNING status`;
  return rows[0] ? rows[0].status : null;
}

async function release(runId: string, owner: string): Promise<void> {
  await db()
    .$executeRaw`UPDATE "JudgeRun" SET "leaseOwner" = NULL, "leaseUntil" = NULL WHERE id = ${runId} AND "leaseOwner" = ${owner}`;
}

const cost = (
  cfg: Pick<JudgeConfig, "costPerMInputTokens" | "costPerMOutputTokens">,
  prompt: number,
  completion: number,
) => (prompt * cfg.costPerMInputTokens + completion * cfg.costPerMOutputTokens) / 1e6;

interface FinalStates {
  failed: Map<string, string>;
  unparseable: Set<string>;
}

/** Comparisons of the run whose attempts say they are finished without a judgment. */
async function finalAttemptStates(runId: string): Promise<FinalStates> {
  const rows = await db().judgeAttempt.groupBy({
    by: ["comparisonId", "order", "status"],
    where: { runId, status: { in: ["failed", "unparseable"] } },
    _count: { _all: true },
  });
  const failed = new Map<string, string>();
  const unparseable = new Set<string>();
  for (const r of rows) {
    if (r.status === "failed") failed.set(r.comparisonId, "failed");
    else if (r._count._all >= UNPARSEABLE_TRIES) unparseable.add(r.comparisonId);
  }
  for (const id of failed.keys()) unparseable.delete(id);
  return { failed, unparseable };
}

/**
 * Recounts the run's counters from the rows that are the truth (judgments and attempts), so a
 * crash between a write and a counter update never leaves them off.
 */
export async function reconcileRunCounters(runId: string): Promise<void> {
  const run = await db().judgeRun.findUniqueOrThrow({ where: { id: runId }, include: { judgeConfig: true } });
  const judged = await db().judgment.findMany({
    where: { judgeRunId: runId },
    select: { comparisonId: true, metadata: true },
  });
  const judgedIds = new Set(judged.map((j) => j.comparisonId));
  const inconsistent = judged.filter(
    (j) => (j.metadata as Record<string, unknown> | null)?.swap === "inconsistent",
  ).length;
  const finals = await finalAttemptStates(runId);
  const sums = await db().judgeAttempt.aggregate({
    where: { runId },
    _sum: { promptTokens: true, completionTokens: true },
  });
  const promptTokens = sums._sum.promptTokens ?? 0;
  const completionTokens = sums._sum.completionTokens ?? 0;
  await db().judgeRun.update({
    where: { id: runId },
    data: {
      done: judgedIds.size,
      inconsistent,
      failed: [...finals.failed.keys()].filter((id) => !judgedIds.has(id)).length,
      unparseable: [...finals.unparseable].filter((id) => !judgedIds.has(id)).length,
      promptTokens,
      completionTokens,
      costUsd: cost(run.judgeConfig, promptTokens, completionTokens),
    },
  });
}

/** Loads comparisons with their prompt and completions, a page at a time, in the order asked. */
class ContentLoader {
  private pages = new Map<number, Promise<Map<string, ComparisonContent>>>();
  constructor(
    private readonly ids: readonly string[],
    private readonly allowBothBad: boolean,
    private readonly pageSize = 100,
  ) {}

  async get(index: number): Promise<ComparisonContent | null> {
    const page = Math.floor(index / this.pageSize);
    let p = this.pages.get(page);
    if (!p) {
      p = this.load(this.ids.slice(page * this.pageSize, (page + 1) * this.pageSize));
      this.pages.set(page, p);
      this.pages.delete(page - 2); // keep memory flat on long runs
    }
    return (await p).get(this.ids[index] as string) ?? null;
  }

  private async load(ids: string[]): Promise<Map<string, ComparisonContent>> {
    const rows = await db().comparison.findMany({
      where: { id: { in: ids } },
      select: {
        id: true,
        projectId: true,
        completionIds: true,
        metadata: true,
        prompt: { select: { text: true, messages: true, metadata: true } },
      },
    });
    const completionIds = rows.flatMap((r) => r.completionIds);
    const completions = await db().completion.findMany({
      where: { id: { in: completionIds } },
      select: { id: true, text: true },
    });
    const byId = new Map(completions.map((c) => [c.id, c]));
    const out = new Map<string, ComparisonContent>();
    for (const r of rows) {
      const cs = r.completionIds.map((id) => byId.get(id));
      if (cs.some((c) => !c)) continue; // a completion was deleted: treated as missing
      out.set(r.id, {
        id: r.id,
        projectId: r.projectId,
        completionIds: r.completionIds,
        completions: cs as { id: string; text: string }[],
        prompt: r.prompt,
        metadata: r.metadata,
        allowBothBad: this.allowBothBad,
      });
    }
    return out;
  }
}

export { isUniqueViolation }; // the one definition lives in server/db/sql.ts

/**
 * Attempts are written the moment a reply arrives (a restarted run reuses them), together with
 * the run's token and cost counters: one statement, so one round trip and one commit.
 */
function attemptSink(runId: string, cfg: JudgeConfig, withAttempts: Set<string>): AttemptSink {
  return {
    runId,
    async record(a) {
      const p = a.promptTokens ?? 0;
      const c = a.completionTokens ?? 0;
      await db().$executeRaw`
        WITH attempt AS (
          INSERT INTO "JudgeAttempt" (id, "runId", "comparisonId", "order", "try", status, verdict, "rawReply", error, "promptTokens", "completionTokens", "latencyMs")
          VALUES (${newId()}, ${runId}, ${a.comparisonId}, ${a.order}, ${a.try ?? 1}, ${a.status}, ${a.verdict ?? null}, ${a.rawReply == null ? null : storableText(a.rawReply)}, ${a.error == null ? null : storableText(a.error)}, ${p}, ${c}, ${a.latencyMs ?? null})
          RETURNING 1
        )
        UPDATE "JudgeRun" SET
          "promptTokens" = "promptTokens" + ${p},
          "completionTokens" = "completionTokens" + ${c},
          "costUsd" = "costUsd" + ${cost(cfg, p, c)}::float8
        WHERE id = ${runId} AND EXISTS (SELECT 1 FROM attempt)`;
    },
    async prior(comparisonId) {
      // Only comparisons this run touched before (a resumed run) can have attempts: skip the query otherwise.
      if (!withAttempts.has(comparisonId)) return [];
      return db().judgeAttempt.findMany({ where: { runId, comparisonId } });
    },
  };
}

async function failRun(runId: string, error: string): Promise<void> {
  await db().judgeRun.updateMany({
    where: { id: runId, status: { in: ["queued", "running"] } },
    data: { status: "failed", error: error.slice(0, 2000), finishedAt: new Date() },
  });
}

/** How a run that went through its whole selection ended (see RUN_STATUSES). */
export function runOutcome(r: { done: number; failed: number; unparseable: number }): {
  status: "succeeded" | "completed_with_errors" | "failed";
  error: string | null;
} {
  const notes: string[] = [];
  if (r.failed) notes.push(`${r.failed} comparison(s) failed`);
  if (r.unparseable) notes.push(`${r.unparseable} reply(ies) had no verdict`);
  if (!notes.length) return { status: "succeeded", error: null };
  const why = `${notes.join("; ")}; see the attempts for the reasons.`;
  if (r.done === 0) return { status: "failed", error: `No comparison was judged: ${why}` };
  return { status: "completed_with_errors", error: `${r.done} judged, but ${why}` };
}

/** Executes (or continues) a judge run. See the file header for the guarantees. */
export async function executeJudgeRun(runId: string, opts: ExecuteOptions = {}): Promise<ExecuteResult> {
  const owner = opts.owner ?? newRunnerId();
  const leaseMs = opts.leaseMs ?? 60_000;
  const pollMs = opts.pollMs ?? 1000;
  const log = opts.log ?? (() => {});
  const started = Date.now();

  const claimed = await claim(runId, owner, leaseMs);
  if (!claimed) {
    const r = await db().judgeRun.findUnique({ where: { id: runId }, select: { status: true } });
    if (!r) return "finished";
    if (r.status === "paused") return "paused";
    if (r.status === "cancelled") return "cancelled";
    if ((TERMINAL as readonly string[]).includes(r.status)) return "finished";
    return "busy";
  }

  let judge: Judge | undefined;
  try {
    const run = await db().judgeRun.findUniqueOrThrow({ where: { id: runId } });
    const cfg = await judgeConfigRowOrThrow(run.judgeConfigId);
    if (cfg.version !== run.judgeVersion) {
      await failRun(
        runId,
        `Judge "${cfg.name}" was edited (now version ${cfg.version}) after this run was created for version ${run.judgeVersion}; start a new run.`,
      );
      return "failed";
    }
    const project = await db().project.findUniqueOrThrow({
      where: { id: run.projectId },
      select: { labelSchema: true, settings: true },
    });
    const labelSchema = parseLabelSchema(project.labelSchema);
    const routing = parseProjectSettings(project.settings).routing;
    await reconcileRunCounters(runId);

    const touched = await db().judgeAttempt.findMany({
      where: { runId },
      select: { comparisonId: true },
      distinct: ["comparisonId"],
    });
    const sink = attemptSink(runId, cfg, new Set(touched.map((t) => t.comparisonId)));
    const kind = cfg.kind as JudgeKind;
    const gate = gateFor(cfg.id, {
      concurrency: cfg.concurrency,
      requestsPerMinute: cfg.requestsPerMinute,
      tokensPerMinute: cfg.tokensPerMinute,
    });
    try {
      if (kind === "llm") judge = llmJudge({ cfg, apiKey: judgeSecret(cfg), gate, sink, retry: opts.retry });
      else if (kind === "reward_model") judge = await rewardModelJudge({ projectId: run.projectId, sink });
      else if (kind === "rule") judge = ruleJudge({ sink });
      else throw new JudgeSetupError(`Unknown judge kind "${cfg.kind}".`);
    } catch (e) {
      await failRun(runId, (e as Error).message);
      return "failed";
    }

    const selection = StoredSelection.parse(run.selection);
    const judged = await judgedComparisonIds(cfg.id, run.judgeVersion, selection.comparisonIds);
    const finals = await finalAttemptStates(runId);
    const pending = selection.comparisonIds.filter(
      (id) => !judged.has(id) && !finals.failed.has(id) && !finals.unparseable.has(id),
    );
    log(`run ${runId}: ${pending.length} of ${selection.comparisonIds.length} comparisons pending`);
    const loader = new ContentLoader(pending, labelSchema.kind === "pairwise" && labelSchema.allowBothBad);

    const abort = new AbortController();
    const state: { stop: StopReason | null } = { stop: opts.signal?.aborted ? "signal" : null };
    const onShutdown = () => {
      state.stop ??= "signal";
      abort.abort();
    };
    opts.signal?.addEventListener("abort", onShutdown, { once: true });
    let fatal = "";
    let polling = false;
    const poll = setInterval(() => {
      if (polling) return;
      polling = true;
      heartbeat(runId, owner, leaseMs)
        .then((status) => {
          if (status === null) {
            state.stop ??= "lost";
            abort.abort();
          } else if (status === "paused") state.stop ??= "paused";
          else if (status === "cancelled") {
            state.stop ??= "cancelled";
            abort.abort();
          }
        })
        .catch((e: Error) => log(`run ${runId}: heartbeat failed: ${e.message}`))
        .finally(() => (polling = false));
    }, pollMs);

    const processOne = async (index: number) => {
      const id = pending[index] as string;
      const content = await loader.get(index);
      let outcome: JudgeOutcome;
      if (!content) {
        outcome = { status: "failed", reason: "the comparison or one of its completions no longer exists" };
        await sink
          .record({ comparisonId: id, order: "AB", try: 1, status: "failed", error: outcome.reason })
          .catch(() => undefined);
      } else {
        try {
          outcome = await (judge as Judge).judge(content, abort.signal);
        } catch (e) {
          if (isUniqueViolation(e)) {
            // Another runner wrote this attempt (a lease taken over mid-request): it owns the comparison.
            return;
          }
          throw e;
        }
      }
      switch (outcome.status) {
        case "judged": {
          const uncertain =
            outcome.swap === "inconsistent" ||
            (outcome.confidence !== null && outcome.confidence < routing.lowConfidenceBelow);
          const routed = routing.aiUncertainToHumans && uncertain;
          // The judgment, the run's counters and the routing commit together. A unique violation
          // means another runner recorded this judgment meanwhile: nothing to add.
          await db()
            .$transaction(
              async (tx) => {
                const res = await recordJudgment(tx, {
                  idempotencyKey: judgmentKey(cfg.id, run.judgeVersion, id),
                  comparisonId: id,
                  origin: { kind: "ai", judgeConfigId: cfg.id, judgeRunId: runId },
                  verdict: outcome.verdict,
                  confidence: outcome.confidence ?? undefined,
                  rationale: outcome.rationale === undefined ? undefined : storableText(outcome.rationale),
                  metadata: {
                    ...outcome.metadata,
                    judgeVersion: run.judgeVersion,
                    ...(uncertain ? { uncertain: true } : {}),
                    ...(routed ? { routedToHumans: true } : {}),
                  },
                });
                if (res.created) {
                  await tx.$executeRaw`UPDATE "JudgeRun" SET done = done + 1, inconsistent = inconsistent + ${outcome.swap === "inconsistent" ? 1 : 0} WHERE id = ${runId}`;
                }
                // First in line for annotators (the queue orders by priority).
                if (routed)
                  await tx.$executeRaw`UPDATE "Comparison" SET priority = GREATEST(priority, ${AI_UNCERTAIN_PRIORITY}::float8) WHERE id = ${id}`;
              },
              { timeout: 30_000, maxWait: 30_000 },
            )
            .catch((e: unknown) => {
              if (!isUniqueViolation(e)) throw e;
            });
          break;
        }
        case "failed":
          await db().$executeRaw`UPDATE "JudgeRun" SET failed = failed + 1 WHERE id = ${runId}`;
          break;
        case "unparseable":
          await db().$executeRaw`UPDATE "JudgeRun" SET unparseable = unparseable + 1 WHERE id = ${runId}`;
          break;
        case "fatal":
          state.stop ??= "fatal";
          fatal ||= outcome.reason;
          abort.abort();
          break;
        case "cancelled":
          break;
      }
      if (outcome.status !== "cancelled") opts.onOutcome?.(id, outcome.status);
    };

    let next = 0;
    let workerError: unknown = null;
    const workers = Array.from({ length: kind === "llm" ? Math.max(1, cfg.concurrency) : 1 }, async () => {
      while (!state.stop && next < pending.length && !workerError) {
        if (opts.maxMs !== undefined && Date.now() - started > opts.maxMs) {
          state.stop = "deadline";
          break;
        }
        const i = next++;
        try {
          await processOne(i);
        } catch (e) {
          workerError ??= e;
          abort.abort();
        }
      }
    });
    try {
      await Promise.all(workers);
    } finally {
      clearInterval(poll);
      opts.signal?.removeEventListener("abort", onShutdown);
    }
    await reconcileRunCounters(runId);
    if (workerError) {
      await failRun(runId, `Internal error while judging: ${(workerError as Error).message}`);
      log(`run ${runId}: ${(workerError as Error).stack ?? workerError}`);
      return "failed";
    }
    switch (state.stop) {
      case "fatal":
        await failRun(runId, fatal);
        return "failed";
      case "paused":
        return "paused";
      case "cancelled":
        return "cancelled";
      case "deadline":
        return "more";
      case "lost":
      case "signal":
        return "stopped";
      default: {
        const r = await db().judgeRun.findUniqueOrThrow({
          where: { id: runId },
          select: { done: true, failed: true, unparseable: true, status: true },
        });
        if (r.status === "paused") return "paused";
        if (r.status === "cancelled") return "cancelled";
        const end = runOutcome(r);
        await db().judgeRun.updateMany({
          where: { id: runId, status: "running" },
          data: { status: end.status, finishedAt: new Date(), error: end.error },
        });
        return "finished";
      }
    }
  } finally {
    judge?.close();
    await release(runId, owner).catch(() => undefined);
  }
}
