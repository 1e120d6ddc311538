// Reviewer procedures: the queue of comparisons without consensus (or flagged), one item with
// every vote and rationale, and the ruling (an adjudication judgment).
import { z } from "zod";
import { reviewerProcedure, router } from "../init";
import { db } from "../../db/client";
import { AdjudicateInput, adjudicate, reopenFlagged, reviewItem, reviewQueue } from "../../annotation/review";

export const reviewRouter = router({
  queue: reviewerProcedure
    .input(
      z
        .object({ projectId: z.string().optional(), status: z.enum(["review", "flagged"]).optional() })
        .optional(),
    )
    .query(({ input }) => reviewQueue(db(), input ?? {})),
  item: reviewerProcedure
    .input(z.object({ comparisonId: z.string().min(1) }))
    .query(({ input }) => reviewItem(db(), input.comparisonId)),
  adjudicate: reviewerProcedure
    .input(AdjudicateInput)
    .mutation(({ ctx, input }) => adjudicate(db(), ctx.user.id, input)),
  reopen: reviewerProcedure
    .input(z.object({ comparisonId: z.string().min(1), note: z.string().max(2000).optional() }))
    .mutation(({ ctx, input }) => reopenFlagged(db(), ctx.user.id, input)),
});
