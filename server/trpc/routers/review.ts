// Reviewer procedures: the queue of comparisons without consensus (or flagged), one item with
// every vote and rationale, and the ruling (an adjudication judgment). Reviewers see only the
// projects where they review (server/auth/access.ts).
import { z } from "zod";
import { reviewerProcedure, router } from "../init";
import { db } from "../../db/client";
import { projectIdOf, projectIdsWithRole, requireProjectRole } from "../../auth/access";
import type { SessionUser } from "../../auth/roles";
import { DomainError } from "../../errors";
import { AdjudicateInput, adjudicate, reopenFlagged, reviewItem, reviewQueue } from "../../annotation/review";

/** The comparison's project must be one the caller reviews. */
export async function requireReviewerOf(user: SessionUser, comparisonId: string): Promise<void> {
  const projectId = await projectIdOf("comparison", comparisonId);
  if (!projectId) throw new DomainError("not_found", `No comparison ${comparisonId}.`);
  await requireProjectRole(user, projectId, "reviewer");
}

export const reviewRouter = router({
  queue: reviewerProcedure
    .input(
      z
        .object({
          projectId: z.string().optional(),
          status: z.enum(["review", "flagged"]).optional(),
          /** The previous page's nextCursor. */
          after: z.string().max(1000).optional(),
        })
        .optional(),
    )
    .query(async ({ ctx, input }) =>
      reviewQueue(db(), { ...(input ?? {}), projectIds: await projectIdsWithRole(ctx.user, "reviewer") }),
    ),
  item: reviewerProcedure
    .input(z.object({ comparisonId: z.string().min(1) }))
    .query(async ({ ctx, input }) => {
      await requireReviewerOf(ctx.user, input.comparisonId);
      return reviewItem(db(), input.comparisonId);
    }),
  adjudicate: reviewerProcedure.input(AdjudicateInput).mutation(async ({ ctx, input }) => {
    await requireReviewerOf(ctx.user, input.comparisonId);
    return adjudicate(db(), ctx.user.id, input);
  }),
  reopen: reviewerProcedure
    .input(z.object({ comparisonId: z.string().min(1), note: z.string().max(2000).optional() }))
    .mutation(async ({ ctx, input }) => {
      await requireReviewerOf(ctx.user, input.comparisonId);
      return reopenFlagged(db(), ctx.user.id, input);
    }),
});
