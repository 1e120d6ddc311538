// Comparisons, pairs and judgments one at a time (the REST API and scripts); bulk goes through
// import/export. Creating a comparison is idempotent by content, like an import row.
import { Prisma, type ComparisonStatus, type PrismaClient } from "@prisma/client";
import { z } from "zod";
import { DomainError } from "@/server/errors";
import { env } from "@/server/env";
import { getProjectOrThrow } from "@/server/projects/projects";
import { completionHash, comparisonHash, promptHash } from "./hash";
import { newId } from "./ids";
import { MAX_COMPLETIONS, RowError, parseRow } from "./import/formats";
import { Verdict } from "./verdict";

export const ChatMessageSchema = z.object({
  role: z.enum(["system", "user", "assistant", "tool"]),
  content: z.string(),
});

export const CompletionInput = z.union([
  z.string(),
  z.object({
    text: z.string(),
    model: z.string().max(200).optional(),
    samplingParams: z.record(z.string(), z.unknown()).optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
  }),
]);

export const ComparisonInput = z.object({
  /** Plain text, or a conversation [{role, content}]. */
  prompt: z.union([z.string(), z.array(ChatMessageSchema).min(1)]),
  completions: z.array(CompletionInput).min(2).max(MAX_COMPLETIONS),
  /** A gold item: its known answer as completion indices, best first (groups tie). */
  goldRanking: z
    .array(z.array(z.number().int().min(0)))
    .min(2)
    .optional(),
  priority: z.number().finite().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});
export type ComparisonInput = z.input<typeof ComparisonInput>;

export interface ComparisonView {
  id: string;
  projectId: string;
  status: ComparisonStatus;
  prompt: { id: string; text: string | null; messages: unknown };
  completions: Array<{ id: string; text: string; model: string | null }>;
  /** null: hidden from this caller (server/auth/visibility.ts). */
  isGold: boolean | null;
  goldAnswer: unknown;
  priority: number;
  judgmentCount: number;
  agreement: number | null;
  source: string;
  metadata: unknown;
  createdAt: Date;
  completedAt: Date | null;
}

function goldVerdict(groups: number[][], ids: string[]): Verdict {
  for (const i of groups.flat())
    if (i >= ids.length)
      throw new DomainError("bad_request", `goldRanking names completion ${i}; there are ${ids.length}.`);
  if (ids.length === 2 && groups.length === 2 && groups.every((g) => g.length === 1)) {
    return {
      kind: "pairwise",
      outcome: "win",
      winnerId: ids[groups[0]![0]!]!,
      loserId: ids[groups[1]![0]!]!,
      strength: 1,
    };
  }
  return { kind: "ranking", ranking: groups.map((g) => g.map((i) => ids[i]!)) };
}

/** Create a comparison (its prompt and completions too, reusing identical ones); idempotent by content. */
export async function createComparison(
  db: PrismaClient,
  project: string,
  input: ComparisonInput,
  opts: { maxTextChars?: number } = {},
): Promise<{ comparison: ComparisonView; created: boolean }> {
  const p = await getProjectOrThrow(db, project);
  const parsedInput = ComparisonInput.safeParse(input);
  if (!parsedInput.success)
    throw new DomainError(
      "bad_request",
      parsedInput.error.issues.map((i) => `${i.path.join(".") || "input"}: ${i.message}`).join("; "),
    );
  const data = parsedInput.data;
  let row;
  try {
    row = parseRow(
      {
        prompt: data.prompt,
        completions: data.completions.map((c) =>
          typeof c === "string" ? c : { text: c.text, model: c.model },
        ),
      },
      { maxTextChars: opts.maxTextChars ?? env().PAIRWISE_MAX_TEXT_CHARS },
    );
  } catch (e) {
    if (e instanceof RowError) throw new DomainError("bad_request", e.message);
    throw e;
  }
  if (row.kind !== "comparison")
    throw new DomainError("bad_request", "A comparison needs a prompt and 2 or more completions.");
  const kind = (p.labelSchema as { kind?: string }).kind;
  if (kind !== "ranking" && row.completions.length > 2)
    throw new DomainError("bad_request", `Project "${p.slug}" compares pairs: give exactly 2 completions.`);
  const pHash = promptHash(row.prompt);
  const cHashes = row.completions.map((c) => completionHash(c.text));
  const hash = comparisonHash(pHash, cHashes);

  const { id, created } = await db.$transaction(async (tx) => {
    await tx.prompt.createMany({
      data: [
        {
          id: newId(),
          projectId: p.id,
          contentHash: pHash,
          text: row.prompt.text ?? null,
          messages: (row.prompt.messages as Prisma.InputJsonValue | undefined) ?? Prisma.DbNull,
        },
      ],
      skipDuplicates: true,
    });
    const prompt = await tx.prompt.findUniqueOrThrow({
      where: { projectId_contentHash: { projectId: p.id, contentHash: pHash } },
      select: { id: true },
    });
    await tx.completion.createMany({
      data: row.completions.map((c, i) => {
        const extra = data.completions[i];
        return {
          id: newId(),
          projectId: p.id,
          promptId: prompt.id,
          contentHash: cHashes[i]!,
          text: c.text,
          modelName: c.model ?? "unknown",
          samplingParams: (typeof extra === "object"
            ? (extra.samplingParams ?? {})
            : {}) as Prisma.InputJsonValue,
          metadata: (typeof extra === "object" ? (extra.metadata ?? {}) : {}) as Prisma.InputJsonValue,
        };
      }),
      skipDuplicates: true,
    });
    const comps = await tx.completion.findMany({
      where: { promptId: prompt.id, contentHash: { in: cHashes } },
      select: { id: true, contentHash: true },
    });
    const idByHash = new Map(comps.map((c) => [c.contentHash, c.id]));
    const inputOrder = cHashes.map((h) => idByHash.get(h)!);
    const canonical = [...cHashes].sort().map((h) => idByHash.get(h)!);
    const comparisonId = newId();
    const made = await tx.comparison.createMany({
      data: [
        {
          id: comparisonId,
          projectId: p.id,
          promptId: prompt.id,
          completionIds: canonical,
          contentHash: hash,
          isGold: data.goldRanking !== undefined,
          goldAnswer: data.goldRanking
            ? (goldVerdict(data.goldRanking, inputOrder) as Prisma.InputJsonValue)
            : Prisma.DbNull,
          priority: data.priority ?? 0,
          source: "api",
          metadata: (data.metadata ?? {}) as Prisma.InputJsonValue,
        },
      ],
      skipDuplicates: true,
    });
    if (made.count) return { id: comparisonId, created: true };
    const existing = await tx.comparison.findUniqueOrThrow({
      where: { projectId_contentHash: { projectId: p.id, contentHash: hash } },
      select: { id: true },
    });
    return { id: existing.id, created: false };
  });
  return { comparison: await getComparison(db, id), created };
}

export async function getComparison(db: PrismaClient, id: string): Promise<ComparisonView> {
  const c = await db.comparison.findUnique({
    where: { id },
    include: { prompt: { select: { id: true, text: true, messages: true } } },
  });
  if (!c) throw new DomainError("not_found", `No comparison ${id}.`);
  const comps = await db.completion.findMany({
    where: { id: { in: c.completionIds } },
    select: { id: true, text: true, modelName: true },
  });
  const byId = new Map(comps.map((x) => [x.id, x]));
  return {
    id: c.id,
    projectId: c.projectId,
    status: c.status,
    prompt: c.prompt,
    completions: c.completionIds.flatMap((cid) => {
      const x = byId.get(cid);
      return x ? [{ id: x.id, text: x.text, model: x.modelName }] : [];
    }),
    isGold: c.isGold,
    goldAnswer: c.goldAnswer,
    priority: c.priority,
    judgmentCount: c.judgmentCount,
    agreement: c.agreement,
    source: c.source,
    metadata: c.metadata,
    createdAt: c.createdAt,
    completedAt: c.completedAt,
  };
}

export interface Page<T> {
  items: T[];
  /** Pass as `cursor` for the next page; null at the end. */
  nextCursor: string | null;
}

const pageOf = <T extends { id: string }>(rows: T[], limit: number): Page<T> => ({
  items: rows.slice(0, limit),
  nextCursor: rows.length > limit ? rows[limit - 1]!.id : null,
});

export async function listComparisons(
  db: PrismaClient,
  project: string,
  opts: { status?: ComparisonStatus; limit?: number; cursor?: string } = {},
): Promise<Page<ComparisonView>> {
  const p = await getProjectOrThrow(db, project);
  const limit = Math.min(Math.max(opts.limit ?? 50, 1), 500);
  const rows = await db.comparison.findMany({
    where: {
      projectId: p.id,
      ...(opts.status ? { status: opts.status } : {}),
      ...(opts.cursor ? { id: { gt: opts.cursor } } : {}),
    },
    orderBy: { id: "asc" },
    take: limit + 1,
    select: { id: true },
  });
  const page = pageOf(rows, limit);
  return {
    items: await Promise.all(page.items.map((r) => getComparison(db, r.id))),
    nextCursor: page.nextCursor,
  };
}

export async function listPairs(
  db: PrismaClient,
  project: string,
  opts: { active?: boolean; comparisonId?: string; limit?: number; cursor?: string } = {},
) {
  const p = await getProjectOrThrow(db, project);
  const limit = Math.min(Math.max(opts.limit ?? 100, 1), 1000);
  const rows = await db.preferencePair.findMany({
    where: {
      projectId: p.id,
      ...(opts.active === undefined ? {} : { active: opts.active }),
      ...(opts.comparisonId ? { comparisonId: opts.comparisonId } : {}),
      ...(opts.cursor ? { id: { gt: opts.cursor } } : {}),
    },
    orderBy: { id: "asc" },
    take: limit + 1,
  });
  return pageOf(rows, limit);
}

export async function listJudgments(
  db: PrismaClient,
  opts: {
    project?: string;
    comparisonId?: string;
    /** Only this person's judgments. */
    userId?: string;
    includeSuperseded?: boolean;
    limit?: number;
    cursor?: string;
  },
) {
  const projectId = opts.project ? (await getProjectOrThrow(db, opts.project)).id : undefined;
  const limit = Math.min(Math.max(opts.limit ?? 100, 1), 1000);
  const rows = await db.judgment.findMany({
    where: {
      ...(projectId ? { projectId } : {}),
      ...(opts.comparisonId ? { comparisonId: opts.comparisonId } : {}),
      ...(opts.userId ? { userId: opts.userId } : {}),
      ...(opts.includeSuperseded ? {} : { supersededAt: null }),
      ...(opts.cursor ? { id: { gt: opts.cursor } } : {}),
    },
    orderBy: { id: "asc" },
    take: limit + 1,
  });
  return pageOf(rows, limit);
}
