// The call site into aggregation for human judgments. Runs inside the submit's transaction so
// the assignment's state and the judgment commit together.
// TODO(server/data): delegate to recordJudgment once server/data/judgments.ts lands.
import "server-only";
import { Prisma } from "@prisma/client";
import type { Verdict } from "@/server/data/verdict";
import type { Ratings } from "./answer";

export interface HumanJudgmentInput {
  idempotencyKey: string;
  projectId: string;
  comparisonId: string;
  userId: string;
  assignmentId: string;
  verdict: Verdict;
  rationale?: string;
  ratings?: Ratings;
  displayOrder: string[];
  timeSpentMs: number;
  isGoldCheck: boolean;
  goldCorrect?: boolean;
  metadata: Record<string, unknown>;
  overlap: number;
  now: Date;
}

export async function recordHumanJudgment(tx: Prisma.TransactionClient, input: HumanJudgmentInput): Promise<string> {
  const j = await tx.judgment.create({
    data: {
      idempotencyKey: input.idempotencyKey,
      projectId: input.projectId,
      comparisonId: input.comparisonId,
      source: "human",
      userId: input.userId,
      assignmentId: input.assignmentId,
      verdict: input.verdict as Prisma.InputJsonValue,
      rationale: input.rationale,
      ratings: input.ratings as Prisma.InputJsonValue | undefined,
      displayOrder: input.displayOrder,
      timeSpentMs: input.timeSpentMs,
      isGoldCheck: input.isGoldCheck,
      goldCorrect: input.goldCorrect,
      metadata: input.metadata as Prisma.InputJsonValue,
      createdAt: input.now,
    },
    select: { id: true },
  });
  await tx.$executeRaw`
    UPDATE "Comparison" SET "judgmentCount" = "judgmentCount" + 1,
      status = CASE WHEN NOT "isGold" AND status = 'open' AND "judgmentCount" + 1 >= ${input.overlap} THEN 'complete'::"ComparisonStatus" ELSE status END,
      "completedAt" = CASE WHEN NOT "isGold" AND status = 'open' AND "judgmentCount" + 1 >= ${input.overlap} THEN ${input.now} ELSE "completedAt" END
    WHERE id = ${input.comparisonId}`;
  return j.id;
}
