// /review/[comparisonId] - every vote and rationale on one comparison, and the reviewer's ruling.
import { notFound } from "next/navigation";
import { requirePageUser } from "@/server/auth/session";
import { db } from "@/server/db/client";
import { reviewItem } from "@/server/annotation/review";
import { isDomainError } from "@/server/errors";
import { projectIdOf, projectRole, atLeast } from "@/server/auth/access";
import { ReviewPanel } from "@/components/review/review-panel";

export default async function ReviewItemPage({ params }: { params: Promise<{ comparisonId: string }> }) {
  const { comparisonId } = await params;
  const user = await requirePageUser("reviewer", `/review/${comparisonId}`);
  const projectId = await projectIdOf("comparison", comparisonId);
  if (!projectId) notFound();
  if (!atLeast(await projectRole(user, projectId), "reviewer")) {
    return (
      <p className="text-slate-600" data-testid="not-a-member">
        You do not review this project; ask an admin to add you.
      </p>
    );
  }
  const item = await reviewItem(db(), comparisonId).catch((e) => {
    if (isDomainError(e) && e.code === "not_found") notFound();
    throw e;
  });
  return <ReviewPanel item={item} />;
}
