// The reviewer's queue: comparisons that reached overlap without consensus (or failed a gold
// check, as aggregation decides) wait in status "review"; flagged ones in "flagged". The reviewer
// sees every vote with its rationale and rules: the ruling is a judgment of its own (source
// "adjudication") recorded through recordJudgment, which recomputes the comparison's pairs.
import "server-only";
import { z } from "zod";
import type { ComparisonStatus } from "@prisma/client";
import type { Db } from "@/server/db/client";
import { toSql } from "@/server/db/sql";
import { DomainError } from "@/server/errors";
import { parseLabelSchema } from "@/server/projects/schema";
import { recordJudgment, recomputeComparison } from "@/server/data/judgments";
import { Verdict } from "@/server/data/verdict";
import { Answer, toVerdict } from "./answer";
import { positionLabel } from "./queue";

const REVIEWABLE: ComparisonStatus[] = ["review", "flagged"];
/** A gold item is listed for review once this many checks failed, and at least half of them. */
export const GOLD_FAILURES_MIN = 2;

/** Where a page of the review queue ends: (priority, createdAt, id) of its last item. */
function encodeCursor(c: { priority: number; createdAt: Date; id: string }): string {
  return Buffer.from(JSON.stringify([c.priority, c.createdAt.toISOString(), c.id])).toString("base64url");
}

function decodeCursor(s: string): { priority: number; createdAt: Date; id: string } {
  try {
    const [priority, at, id] = JSON.parse(Buffer.from(s, "base64url").toString("utf8")) as unknown[];
    const createdAt = new Date(String(at));
    if (typeof priority === "number" && typeof id === "string" && !Number.isNaN(createdAt.getTime()))
      return { priority, createdAt, id };
  } catch {
    // answered below
  }
  throw new DomainError("bad_request", "This review queue cursor is not valid.");
}

/**
 * One page of the review queue (by priority, then age; `after` is the previous page's
 * nextCursor), the counts by status from the rollups, and the gold items many annotators fail.
 * Each (project, status, gold) range of the queue index is read from the cursor on, at most one
 * page of it, so a page costs the same at any queue length.
 */
export async function reviewQueue(
  db: Db,
  input: {
    projectId?: string;
    /** The projects the reviewer may review (server/auth/access.ts); "all" or absent: every one. */
    projectIds?: string[] | "all";
    status?: "review" | "flagged";
    take?: number;
    after?: string;
  },
) {
  const sql = toSql(db);
  const allowed = input.projectIds && input.projectIds !== "all" ? input.projectIds : null;
  const projects = input.projectId
    ? allowed && !allowed.includes(input.projectId)
      ? []
      : [input.projectId]
    : (allowed ?? (await sql.query<{ id: string }>(`SELECT id FROM "Project"`)).map((p) => p.id));
  const statuses: ComparisonStatus[] = input.status ? [input.status] : REVIEWABLE;
  const take = input.take ?? 100;
  const after = input.after ? decodeCursor(input.after) : null;
  for (const id of projects) await sql.query(`SELECT 1 AS ok FROM pw_stat_compact($1::text)`, [id]);
  const [items, counts, goldFailures] = await Promise.all([
    sql.query<{
      id: string;
      status: ComparisonStatus;
      agreement: number | null;
      judgmentCount: number;
      isGold: boolean;
      createdAt: Date;
      priority: number;
      projectId: string;
      projectSlug: string;
      projectName: string;
      text: string | null;
      messages: unknown;
    }>(
      `SELECT c.id, c.status, c.agreement, c."judgmentCount", c."isGold", c."createdAt", c.priority,
         p.id AS "projectId", p.slug AS "projectSlug", p.name AS "projectName", pr.text, pr.messages
       FROM unnest($1::text[]) AS s(project)
       CROSS JOIN unnest($2::text[]) AS st(status)
       CROSS JOIN (VALUES (false), (true)) AS g(gold)
       CROSS JOIN LATERAL (
         SELECT x.* FROM "Comparison" x
         WHERE x."projectId" = s.project AND x.status = st.status::"ComparisonStatus" AND x."isGold" = g.gold
           AND ($4::float8 IS NULL OR x.priority < $4::float8
             OR (x.priority = $4::float8 AND (x."createdAt", x.id) > ($5::timestamp(3), $6::text)))
         ORDER BY x.priority DESC, x."createdAt", x.id LIMIT $3::int) c
       JOIN "Project" p ON p.id = c."projectId"
       JOIN "Prompt" pr ON pr.id = c."promptId"
       ORDER BY c.priority DESC, c."createdAt", c.id LIMIT $3::int`,
      [projects, statuses, take, after?.priority ?? null, after?.createdAt ?? null, after?.id ?? null],
    ),
    sql.query<{ key: string; n: string | number }>(
      `SELECT key, sum(n) AS n FROM "StatCell" WHERE "projectId" = ANY($1::text[]) AND key = ANY($2::text[])
       GROUP BY key`,
      [projects, REVIEWABLE.map((s) => `cs|${s}`)],
    ),
    // Gold items many annotators fail: perhaps the gold answer itself is wrong (GoldItemCheck,
    // kept by a trigger on Judgment).
    sql.query<{ id: string; failed: number; checks: number; projectName: string }>(
      `SELECT g."comparisonId" AS id, g.failed, g.checks, p.name AS "projectName"
       FROM unnest($1::text[]) AS s(project)
       CROSS JOIN LATERAL (
         SELECT k.* FROM "GoldItemCheck" k JOIN "Comparison" c ON c.id = k."comparisonId" AND c."isGold"
         WHERE k."projectId" = s.project AND k.failed >= $2::int AND k.failed * 2 >= k.checks
         ORDER BY k.failed DESC, k."comparisonId" LIMIT 50) g
       JOIN "Project" p ON p.id = g."projectId"
       ORDER BY g.failed DESC, g."comparisonId" LIMIT 50`,
      [projects, GOLD_FAILURES_MIN],
    ),
  ]);
  const last = items.length === take ? items[items.length - 1] : undefined;
  return {
    goldFailures,
    counts: Object.fromEntries(
      counts.filter((c) => Number(c.n) > 0).map((c) => [c.key.slice(3), Number(c.n)]),
    ) as Partial<Record<ComparisonStatus, number>>,
    items: items.map((c) => ({
      id: c.id,
      status: c.status,
      agreement: c.agreement,
      judgmentCount: c.judgmentCount,
      isGold: c.isGold,
      createdAt: c.createdAt,
      project: { id: c.projectId, slug: c.projectSlug, name: c.projectName },
      promptPreview: promptPreview(c.text, c.messages),
    })),
    nextCursor: last ? encodeCursor(last) : null,
  };
}

function promptPreview(text: string | null, messages: unknown): string {
  if (text) return text.slice(0, 200);
  if (Array.isArray(messages)) {
    const last = [...messages].reverse().find((m) => (m as { role?: string }).role === "user") as
      { content?: unknown } | undefined;
    return String(last?.content ?? "").slice(0, 200);
  }
  return "";
}

/** How a verdict reads in the reviewer's (canonical) labels. */
export function describeVerdict(v: Verdict, completionIds: readonly string[]): string {
  const label = (id: string) => {
    const i = completionIds.indexOf(id);
    return i >= 0 ? positionLabel(i) : "?";
  };
  if (v.kind === "pairwise") {
    if (v.outcome === "tie") return "Tie";
    if (v.outcome === "both_bad") return "Both bad";
    return `${label(v.winnerId)} ${v.strength === 2 ? "much" : "slightly"} better than ${label(v.loserId)}`;
  }
  return v.ranking.map((g) => g.map(label).join(" = ")).join(" > ");
}

export async function reviewItem(db: Db, comparisonId: string) {
  const c = await db.comparison.findUnique({
    where: { id: comparisonId },
    select: {
      id: true,
      status: true,
      agreement: true,
      judgmentCount: true,
      completionIds: true,
      isGold: true,
      goldAnswer: true,
      project: { select: { id: true, slug: true, name: true, labelSchema: true, instructions: true } },
      prompt: { select: { text: true, messages: true } },
    },
  });
  if (!c) throw new DomainError("not_found", `No comparison ${comparisonId}.`);
  const [completions, judgments, flags] = await Promise.all([
    db.completion.findMany({ where: { id: { in: c.completionIds } }, select: { id: true, text: true } }),
    db.judgment.findMany({
      where: { comparisonId },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      select: {
        id: true,
        source: true,
        verdict: true,
        rationale: true,
        ratings: true,
        flag: true,
        flagReason: true,
        timeSpentMs: true,
        displayOrder: true,
        isGoldCheck: true,
        goldCorrect: true,
        supersededAt: true,
        createdAt: true,
        metadata: true,
        user: { select: { id: true, name: true } },
      },
    }),
    db.auditLog.findMany({
      where: { action: "comparison.flag", target: comparisonId },
      orderBy: { createdAt: "asc" },
    }),
  ]);
  const text = new Map(completions.map((x) => [x.id, x.text]));
  const flaggers = await db.user.findMany({
    where: { id: { in: flags.flatMap((f) => (f.actorId ? [f.actorId] : [])) } },
    select: { id: true, name: true },
  });
  const flaggerName = new Map(flaggers.map((u) => [u.id, u.name]));
  const gold = c.goldAnswer ? Verdict.safeParse(c.goldAnswer) : null;
  return {
    id: c.id,
    status: c.status,
    agreement: c.agreement,
    judgmentCount: c.judgmentCount,
    isGold: c.isGold,
    goldAnswer: gold?.success ? describeVerdict(gold.data, c.completionIds) : null,
    project: {
      id: c.project.id,
      slug: c.project.slug,
      name: c.project.name,
      instructions: c.project.instructions,
      labelSchema: parseLabelSchema(c.project.labelSchema),
    },
    prompt: {
      text: c.prompt.text,
      messages: Array.isArray(c.prompt.messages)
        ? (c.prompt.messages as Array<{ role: string; content: string }>)
        : null,
    },
    completions: c.completionIds.map((id, i) => ({ id, label: positionLabel(i), text: text.get(id) ?? "" })),
    judgments: judgments.map((j) => {
      const v = Verdict.safeParse(j.verdict);
      return {
        id: j.id,
        source: j.source,
        by: j.user?.name ?? (j.source === "ai" ? "AI judge" : j.source === "import" ? "import" : "unknown"),
        verdict: v.success ? describeVerdict(v.data, c.completionIds) : "(unreadable verdict)",
        shownFirst: j.displayOrder.length ? positionLabel(c.completionIds.indexOf(j.displayOrder[0]!)) : null,
        rationale: j.rationale,
        ratings: j.ratings,
        flag: j.flag,
        flagReason: j.flagReason,
        timeSpentMs: j.timeSpentMs,
        goldCorrect: j.isGoldCheck ? j.goldCorrect : null,
        superseded: j.supersededAt !== null,
        createdAt: j.createdAt,
      };
    }),
    flags: flags.map((f) => {
      const d = f.data as { flag?: string; reason?: string };
      return {
        by: (f.actorId && flaggerName.get(f.actorId)) ?? "unknown",
        flag: d.flag ?? "",
        reason: d.reason ?? "",
        at: f.createdAt,
      };
    }),
  };
}

export const AdjudicateInput = z.object({
  comparisonId: z.string().min(1),
  idempotencyKey: z.string().min(8).max(200),
  /** In the reviewer's labels: A, B... are the comparison's completions in canonical order. */
  answer: Answer,
  rationale: z.string().max(20_000).optional(),
});
export type AdjudicateInput = z.infer<typeof AdjudicateInput>;

/** The reviewer's ruling: a judgment of source "adjudication"; pairs are recomputed with it. */
export async function adjudicate(db: Db, reviewerId: string, input: AdjudicateInput) {
  const c = await db.comparison.findUnique({
    where: { id: input.comparisonId },
    select: { completionIds: true, status: true, isGold: true, project: { select: { labelSchema: true } } },
  });
  if (!c) throw new DomainError("not_found", `No comparison ${input.comparisonId}.`);
  const schema = parseLabelSchema(c.project.labelSchema);
  const verdict = toVerdict(input.answer, c.completionIds, schema);
  const recorded = await recordJudgment(db, {
    idempotencyKey: input.idempotencyKey,
    comparisonId: input.comparisonId,
    origin: { kind: "adjudication", userId: reviewerId },
    verdict,
    displayOrder: c.completionIds,
    rationale: input.rationale?.trim() || undefined,
  });
  if (recorded.created) {
    // On a gold item the ruling corrects the gold answer for the checks still to come.
    if (c.isGold)
      await db.comparison.update({
        where: { id: input.comparisonId },
        data: { goldAnswer: verdict as object },
      });
    await db.auditLog.create({
      data: {
        actorId: reviewerId,
        action: "comparison.adjudicate",
        target: input.comparisonId,
        data: { judgmentId: recorded.judgment.id, previousStatus: c.status, goldUpdated: c.isGold },
      },
    });
  }
  return { judgmentId: recorded.judgment.id, created: recorded.created, status: recorded.comparison.status };
}

/** A flag that was wrong: the comparison goes back to the queue (its votes are re-aggregated). */
export async function reopenFlagged(
  db: Db,
  reviewerId: string,
  input: { comparisonId: string; note?: string },
) {
  return db.$transaction(async (tx) => {
    const rows = await tx.$queryRaw<
      Array<{ status: ComparisonStatus }>
    >`SELECT status FROM "Comparison" WHERE id = ${input.comparisonId} FOR UPDATE`;
    const row = rows[0];
    if (!row) throw new DomainError("not_found", `No comparison ${input.comparisonId}.`);
    if (row.status !== "flagged")
      throw new DomainError("conflict", `This comparison is ${row.status}, not flagged.`);
    await tx.comparison.update({ where: { id: input.comparisonId }, data: { status: "open" } });
    const r = await recomputeComparison(tx, input.comparisonId);
    await tx.auditLog.create({
      data: {
        actorId: reviewerId,
        action: "comparison.unflag",
        target: input.comparisonId,
        data: { note: input.note ?? "" },
      },
    });
    return { status: r.status };
  });
}
