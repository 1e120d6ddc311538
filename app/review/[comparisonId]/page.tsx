// /review/[comparisonId] - every vote and rationale on one comparison, and the reviewer's ruling.
import { notFound } from "next/navigation";
import { requirePageUser } from "@/server/auth/session";
import { db } from "@/server/db/client";
import { reviewItem } from "@/server/annotation/review";
import { isDomainError } from "@/server/errors";
import { ReviewPanel } from "@/components/review/review-panel";

export default async function ReviewItemPage({ params }: { params: Promise<{ comparisonId: string }> }) {
  const { comparisonId } = await params;
  await requirePageUser("reviewer", `/review/${comparisonId}`);
  const item = await reviewItem(db(), comparisonId).catch((e) => {
    if (isDomainError(e) && e.code === "not_found") notFound();
    throw e;
  });
  return <ReviewPanel item={JSON.parse(JSON.stringify(item))} />;
}
