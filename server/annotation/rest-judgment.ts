// Judgments sent over REST (POST /api/v1/comparisons/{id}/judgments), held to the same rules as
// the annotation UI:
//  - a human judgment takes the caller's lease on the comparison (annotation/next), or, for
//    reviewers and admins, a free slot under the overlap, recorded as a submitted assignment: so
//    one vote per person (Assignment is unique per comparison and person) and never past overlap;
//    annotators without a lease are refused (they would pick items, gold included, at will);
//  - `source: "ai"` only from a token an admin issued for that judge (ApiToken.judgeConfigId),
//    one live judgment per judge and comparison; a judge's token records nothing else;
//  - corrections (supersedesId): annotators only their own judgments, reviewers anyone's;
//  - an idempotency key that is someone else's is a conflict, never their judgment back.
// Lock order as in server/annotation/queue.ts: the Assignment row, then the Comparison row.
import { appSql } from "@/server/db/client";
import type { Sql } from "@/server/db/sql";
import { DomainError } from "@/server/errors";
import { atLeast } from "@/server/auth/access";
import type { Role } from "@/server/auth/roles";
import { parseLabelSchema } from "@/server/projects/schema";
import {
  checkVerdict,
  checkVerdictAgainstSchema,
  recordJudgment,
  type RecordJudgmentInput,
  type RecordJudgmentResult,
} from "@/server/data/judgments";
import { newId } from "@/server/data/ids";
import type { Verdict, JudgmentOrigin } from "@/server/data/verdict";
import { LEASE_EXPIRED_MESSAGE } from "./queue";

export interface RestJudgment {
  idempotencyKey: string;
  verdict: Verdict;
  source: "human" | "ai" | "adjudication";
  judgeConfigId?: string;
  judgeRunId?: string;
  supersedesId?: string;
  rationale?: string;
  confidence?: number;
  displayOrder?: string[];
  timeSpentMs?: number;
  ratings?: Record<string, Record<string, number>>;
  flag?: "unsafe" | "private" | "broken";
  flagReason?: string;
  metadata?: Record<string, unknown>;
}

export interface RestCaller {
  user: { id: string; role: Role };
  /** The caller's role in the comparison's project (server/auth/access.ts). */
  projectRole: Role;
  tokenId: string;
  /** Set when the token was issued for an AI judge. */
  judgeConfigId: string | null;
}

const QUEUE_ONLY =
  "Judgments from annotators go through the queue: lease the comparison with POST /api/v1/projects/{project}/annotation/next, then submit it (POST /api/v1/annotation/submit, or this route while you hold the lease).";

export async function recordRestJudgment(
  caller: RestCaller,
  comparisonId: string,
  body: RestJudgment,
  opts: { now?: Date; sql?: Sql } = {},
): Promise<RecordJudgmentResult> {
  const sql = opts.sql ?? appSql();
  const now = opts.now ?? new Date();
  const reviewer = atLeast(caller.projectRole, "reviewer");

  const target = (
    await sql.query<{ projectId: string; completionIds: string[]; labelSchema: unknown }>(
      `SELECT c."projectId", c."completionIds", p."labelSchema" FROM "Comparison" c JOIN "Project" p ON p.id = c."projectId" WHERE c.id = $1::text`,
      [comparisonId],
    )
  )[0];
  if (!target) throw new DomainError("not_found", `No comparison ${comparisonId}.`);

  // Who the judgment is from.
  let origin: JudgmentOrigin;
  if (caller.judgeConfigId && body.source !== "ai")
    throw new DomainError(
      "forbidden",
      `This token was issued for judge ${caller.judgeConfigId}: it records only "ai" judgments of that judge.`,
    );
  if (body.source === "ai") {
    if (!caller.judgeConfigId)
      throw new DomainError(
        "forbidden",
        'source "ai" is for AI judges: ask an admin for a token issued for the judge (`pairwise tokens create --judge <judge id>`).',
      );
    if (body.judgeConfigId && body.judgeConfigId !== caller.judgeConfigId)
      throw new DomainError(
        "forbidden",
        `This token records judgments of judge ${caller.judgeConfigId} only.`,
      );
    const judge = (
      await sql.query<{ projectId: string | null }>(
        `SELECT "projectId" FROM "JudgeConfig" WHERE id = $1::text`,
        [caller.judgeConfigId],
      )
    )[0];
    if (!judge) throw new DomainError("not_found", `Judge ${caller.judgeConfigId} no longer exists.`);
    if (judge.projectId && judge.projectId !== target.projectId)
      throw new DomainError("forbidden", "This judge belongs to another project.");
    if (body.judgeRunId) {
      const run = (
        await sql.query<{ ok: boolean }>(
          `SELECT true AS ok FROM "JudgeRun" WHERE id = $1::text AND "judgeConfigId" = $2::text AND "projectId" = $3::text`,
          [body.judgeRunId, caller.judgeConfigId, target.projectId],
        )
      )[0];
      if (!run)
        throw new DomainError(
          "bad_request",
          `Judge run ${body.judgeRunId} is not a run of this judge on this project.`,
        );
    }
    origin = { kind: "ai", judgeConfigId: caller.judgeConfigId, judgeRunId: body.judgeRunId };
  } else if (body.source === "adjudication") {
    if (!reviewer)
      throw new DomainError("forbidden", "Adjudications need the reviewer or admin role in this project.");
    origin = { kind: "adjudication", userId: caller.user.id };
  } else origin = { kind: "human", userId: caller.user.id };

  checkVerdict(body.verdict, target.completionIds);
  checkVerdictAgainstSchema(body.verdict, parseLabelSchema(target.labelSchema), target.completionIds);

  // A retry answers with the first result, but only to whoever wrote it.
  const prior = (
    await sql.query<{ comparisonId: string; userId: string | null; judgeConfigId: string | null }>(
      `SELECT "comparisonId", "userId", "judgeConfigId" FROM "Judgment" WHERE "idempotencyKey" = $1::text`,
      [body.idempotencyKey],
    )
  )[0];
  const mine = (j: { userId: string | null; judgeConfigId: string | null }) =>
    origin.kind === "ai"
      ? j.judgeConfigId === origin.judgeConfigId && !j.userId
      : j.userId === caller.user.id;
  if (prior && (prior.comparisonId !== comparisonId || !mine(prior)))
    throw new DomainError(
      "conflict",
      `The idempotency key "${body.idempotencyKey}" was already used for another submission; generate a new key per submission.`,
    );

  const base: RecordJudgmentInput = {
    idempotencyKey: body.idempotencyKey,
    comparisonId,
    origin,
    verdict: body.verdict,
    supersedesId: body.supersedesId,
    rationale: body.rationale,
    confidence: body.confidence,
    displayOrder: body.displayOrder,
    timeSpentMs: body.timeSpentMs,
    ratings: body.ratings,
    flag: body.flag,
    flagReason: body.flagReason,
    metadata: { ...(body.metadata ?? {}), via: "api", tokenId: caller.tokenId },
    now,
  };
  if (prior) return recordJudgment(sql, base);

  if (body.supersedesId) {
    const old = (
      await sql.query<{
        comparisonId: string;
        userId: string | null;
        judgeConfigId: string | null;
        source: string;
      }>(
        `SELECT "comparisonId", "userId", "judgeConfigId", source::text AS source FROM "Judgment" WHERE id = $1::text`,
        [body.supersedesId],
      )
    )[0];
    if (!old || old.comparisonId !== comparisonId)
      throw new DomainError(
        "bad_request",
        `Judgment ${body.supersedesId} is not a judgment of comparison ${comparisonId}.`,
      );
    const own =
      origin.kind === "ai" ? old.judgeConfigId === origin.judgeConfigId : old.userId === caller.user.id;
    if (!own && !(reviewer && origin.kind !== "ai"))
      throw new DomainError("forbidden", "You can only correct your own judgments.");
    return recordJudgment(sql, base);
  }
  if (origin.kind === "adjudication") return recordJudgment(sql, base);

  return sql.transaction(async (tx) => {
    if (origin.kind === "ai") {
      await tx.query(`SELECT id FROM "Comparison" WHERE id = $1::text FOR UPDATE`, [comparisonId]);
      const had = await tx.query(
        `SELECT 1 AS x FROM "Judgment" WHERE "comparisonId" = $1::text AND "judgeConfigId" = $2::text AND source = 'ai' AND "supersededAt" IS NULL LIMIT 1`,
        [comparisonId, origin.judgeConfigId],
      );
      if (had.length)
        throw new DomainError(
          "conflict",
          "This judge has already judged this comparison; correct that judgment with supersedesId.",
        );
      return recordJudgment(tx, base, { comparisonLocked: true });
    }

    // A human vote: the caller's lease, or (reviewers, admins) a free slot under the overlap.
    const a = (
      await tx.query<{ id: string; status: string; displayOrder: string[] }>(
        `SELECT id, status::text AS status, "displayOrder" FROM "Assignment" WHERE "comparisonId" = $1::text AND "userId" = $2::text FOR UPDATE`,
        [comparisonId, caller.user.id],
      )
    )[0];
    const c = (
      await tx.query<{
        status: string;
        isGold: boolean;
        judgmentCount: number;
        leaseCount: number;
        overlap: number;
      }>(
        `SELECT c.status::text AS status, c."isGold", c."judgmentCount", c."leaseCount", p.overlap
        FROM "Comparison" c JOIN "Project" p ON p.id = c."projectId" WHERE c.id = $1::text FOR UPDATE OF c`,
        [comparisonId],
      )
    )[0];
    if (!c) throw new DomainError("not_found", `No comparison ${comparisonId}.`);
    if (a) {
      if (a.status === "active")
        return recordJudgment(
          tx,
          { ...base, assignmentId: a.id, displayOrder: a.displayOrder, isGoldCheck: c.isGold },
          { skipPriorLookup: true, endAssignment: a.id, comparisonLocked: true },
        );
      if (a.status === "expired") throw new DomainError("gone", LEASE_EXPIRED_MESSAGE);
      if (a.status === "skipped")
        throw new DomainError(
          "conflict",
          "You skipped (or flagged) this comparison; it cannot be judged now.",
        );
      throw new DomainError(
        "conflict",
        "You have already judged this comparison (one vote per person); correct your judgment with supersedesId.",
      );
    }
    if (!reviewer) throw new DomainError("forbidden", QUEUE_ONLY);
    const voted = await tx.query(
      `SELECT 1 AS x FROM "Judgment" WHERE "comparisonId" = $1::text AND "userId" = $2::text AND source = 'human' AND "supersededAt" IS NULL LIMIT 1`,
      [comparisonId, caller.user.id],
    );
    if (voted.length)
      throw new DomainError(
        "conflict",
        "You have already judged this comparison (one vote per person); correct your judgment with supersedesId.",
      );
    if (c.status !== "open")
      throw new DomainError(
        "conflict",
        `This comparison is ${c.status}: it takes no more votes (a reviewer can adjudicate it).`,
      );
    if (!c.isGold && c.judgmentCount + c.leaseCount >= c.overlap)
      throw new DomainError(
        "conflict",
        "This comparison already has (or has leased) all the judgments its overlap asks for.",
      );
    const assignmentId = newId();
    await tx.query(
      `INSERT INTO "Assignment" (id, "projectId", "comparisonId", "userId", "displayOrder", status, "leasedAt", "heartbeatAt", "expiresAt", "endedAt")
      VALUES ($1::text, $2::text, $3::text, $4::text, $5::text[], 'submitted', $6::timestamp(3), $6::timestamp(3), $6::timestamp(3), $6::timestamp(3))`,
      [assignmentId, target.projectId, comparisonId, caller.user.id, target.completionIds, now],
    );
    return recordJudgment(
      tx,
      {
        ...base,
        assignmentId,
        displayOrder: base.displayOrder ?? target.completionIds,
        isGoldCheck: c.isGold,
      },
      { skipPriorLookup: true, comparisonLocked: true },
    );
  });
}
