// Submitting a judgment for a leased comparison: safe against double clicks and retries (the
// client's idempotency key, and one judgment per assignment), against expired leases (said
// plainly), and checked against the project's label schema before anything is written.
// No "server-only" import: the web process's annotation endpoints (plain Node) call this too.
import { z } from "zod";
import { toSql, type Sql, type SqlSource } from "@/server/db/sql";
import { DomainError } from "@/server/errors";
import { parseLabelSchema } from "@/server/projects/schema";
import { Verdict } from "@/server/data/verdict";
import { recordJudgment, type RecordJudgmentInput } from "@/server/data/judgments";
import { Answer, PairwiseAnswer, Ratings, checkRatings, pairwiseVerdict, toVerdict } from "./answer";
import { LEASE_EXPIRED_MESSAGE, positionLabel, revealModelsAfterVote } from "./queue";

export const SubmitInput = z.object({
  assignmentId: z.string().min(1),
  /** Chosen by the client once per assignment; a retry or double click sends the same key. */
  idempotencyKey: z.string().min(8).max(200),
  answer: Answer,
  /** The reasoning (<think>) judged on its own, when the project asks for it. */
  reasoningAnswer: PairwiseAnswer.optional(),
  rationale: z.string().max(20_000).optional(),
  ratings: Ratings.optional(),
  /** Time the item was on screen, measured by the client (hidden-tab time excluded). */
  timeSpentMs: z
    .number()
    .int()
    .min(0)
    .max(7 * 86_400_000)
    .optional(),
});
export type SubmitInput = z.infer<typeof SubmitInput>;

export interface SubmitResult {
  judgmentId: string;
  /** true when this request repeated one that had already been recorded. */
  duplicate: boolean;
  /** Model names by position, when the project reveals them after a vote. */
  revealed: Array<{ label: string; completionId: string; modelName: string }> | null;
  /**
   * When duplicate: the verdict that stands (recorded first). A second tab holding the same lease
   * compares it with its own answer, to tell its user that a different vote was not recorded.
   */
  recorded: Verdict | null;
}

interface Assignment {
  id: string;
  userId: string;
  projectId: string;
  comparisonId: string;
  displayOrder: string[];
  status: string;
  leasedAt: Date;
  labelSchema: unknown;
  isGold: boolean;
}

/** The judgment to record for an assignment, checked against the project's label schema. */
function judgmentInput(a: Assignment, userId: string, input: SubmitInput, now: Date): RecordJudgmentInput {
  const schema = parseLabelSchema(a.labelSchema);
  const verdict = toVerdict(input.answer, a.displayOrder, schema);
  const ratings = checkRatings(input.ratings, a.displayOrder, schema);
  const rationale = input.rationale?.trim() || undefined;
  if (schema.rationale === "required" && !rationale)
    throw new DomainError("bad_request", "This project asks for a rationale: say briefly why.");
  if (schema.rationale === "off" && rationale)
    throw new DomainError("bad_request", "This project does not take rationales.");
  let reasoningVerdict: z.infer<typeof Verdict> | undefined;
  if (input.reasoningAnswer) {
    if (schema.kind !== "pairwise" || !schema.judgeReasoningSeparately) {
      throw new DomainError("bad_request", "This project does not judge reasoning separately.");
    }
    reasoningVerdict = pairwiseVerdict(input.reasoningAnswer, a.displayOrder, schema);
  }
  const maxTime = Math.max(0, now.getTime() - new Date(a.leasedAt).getTime());
  const timeSpentMs = input.timeSpentMs === undefined ? maxTime : Math.min(input.timeSpentMs, maxTime);
  return {
    idempotencyKey: input.idempotencyKey,
    comparisonId: a.comparisonId,
    origin: { kind: "human", userId },
    verdict,
    assignmentId: a.id,
    displayOrder: a.displayOrder,
    timeSpentMs,
    rationale,
    ratings,
    isGoldCheck: a.isGold,
    metadata: reasoningVerdict ? { reasoningVerdict } : {},
    now,
  };
}

/**
 * An assignment that is not active: the answer for a repeated submit, or the error to show.
 * (Status "active" — also when past expiresAt but not yet reclaimed: its slot is still held, so
 * accepting it keeps the overlap invariant.)
 */
async function notActive(sql: Sql, a: Assignment): Promise<Outcome> {
  if (a.status === "submitted") {
    // The same request again (a double click, a retry), or the same assignment from a second tab
    // with another key: the first submission stands.
    const prior = (
      await sql.query<{ id: string; verdict: Verdict }>(
        `SELECT id, verdict FROM "Judgment" WHERE "assignmentId" = $1::text AND "supersededAt" IS NULL LIMIT 1`,
        [a.id],
      )
    )[0];
    if (prior)
      return {
        judgmentId: prior.id,
        duplicate: true,
        recorded: prior.verdict,
        projectId: a.projectId,
        displayOrder: a.displayOrder,
      };
  }
  if (a.status === "expired") throw new DomainError("gone", LEASE_EXPIRED_MESSAGE);
  if (a.status === "skipped")
    throw new DomainError("conflict", "You skipped (or flagged) this comparison; it cannot be judged now.");
  throw new DomainError("conflict", `This assignment is ${a.status}; ask for the next comparison.`);
}

const KEY_TAKEN =
  "This idempotency key was already used for another submission; generate a new key per assignment.";

interface Outcome {
  judgmentId: string;
  duplicate: boolean;
  recorded?: Verdict;
  projectId: string;
  displayOrder: string[];
}

/**
 * Records the judgment of the annotator's leased comparison, in one transaction of four
 * statements: lock the assignment and its comparison (with what validation needs), load the
 * comparison's judgments and pairs, write everything (the assignment's end, the lease slot
 * released, the judgment, the re-aggregated comparison and its pairs), commit. A double click or
 * a retry waits for the first request's lock, then finds the assignment submitted and answers
 * with the same judgment.
 */
export async function submitJudgment(
  db: SqlSource,
  userId: string,
  input: SubmitInput,
  opts: { now?: Date } = {},
): Promise<SubmitResult> {
  const now = opts.now ?? new Date();
  const sql = toSql(db);
  const o = await sql.transaction(async (tx): Promise<Outcome> => {
    // The assignment row and then its comparison locked (the lock order everywhere), with what
    // validation needs, in one round trip.
    const rows = await tx.query<Assignment>(
      `SELECT a.id, a."userId", a."projectId", a."comparisonId", a."displayOrder", a.status::text AS status, a."leasedAt", p."labelSchema", c."isGold"
      FROM "Assignment" a JOIN "Project" p ON p.id = a."projectId" JOIN "Comparison" c ON c.id = a."comparisonId"
      WHERE a.id = $1::text FOR UPDATE OF a, c`,
      [input.assignmentId],
    );
    const a = rows[0];
    if (!a || a.userId !== userId)
      throw new DomainError("not_found", "This assignment does not exist or is not yours.");
    if (a.status !== "active") return notActive(tx, a);
    // The lease ends and its slot becomes the judgment, in the statement that records it.
    const recorded = await recordJudgment(tx, judgmentInput(a, userId, input, now), {
      skipPriorLookup: true,
      endAssignment: a.id,
      comparisonLocked: true,
    });
    // The assignment was active, so an existing judgment with this key is someone else's: roll back.
    if (!recorded.created) throw new DomainError("conflict", KEY_TAKEN);
    return {
      judgmentId: recorded.judgment.id,
      duplicate: false,
      projectId: a.projectId,
      displayOrder: a.displayOrder,
    };
  });
  return {
    judgmentId: o.judgmentId,
    duplicate: o.duplicate,
    revealed: await reveal(sql, o.projectId, o.displayOrder),
    recorded: o.recorded ?? null,
  };
}

async function reveal(
  sql: Sql,
  projectId: string,
  displayOrder: string[],
): Promise<SubmitResult["revealed"]> {
  if (!(await revealModelsAfterVote(sql, projectId))) return null;
  const completions = await sql.query<{ id: string; modelName: string | null }>(
    `SELECT id, "modelName" FROM "Completion" WHERE id = ANY($1::text[])`,
    [displayOrder],
  );
  const names = new Map(completions.map((c) => [c.id, c.modelName]));
  return displayOrder.map((id, i) => ({
    label: positionLabel(i),
    completionId: id,
    modelName: names.get(id) ?? "unknown",
  }));
}
