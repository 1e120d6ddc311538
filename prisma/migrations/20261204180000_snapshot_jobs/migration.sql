-- Snapshots as jobs with progress (issue #19): the row exists from the start ("building"), says
-- how far the build is, and ends "ready" (hash and counts final) or "failed" (error). Snapshots
-- made before this migration are ready.
ALTER TABLE "DatasetSnapshot" ADD COLUMN "status" TEXT NOT NULL DEFAULT 'ready';
ALTER TABLE "DatasetSnapshot" ADD COLUMN "pairsDone" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "DatasetSnapshot" ADD COLUMN "error" TEXT;
ALTER TABLE "DatasetSnapshot" ADD COLUMN "finishedAt" TIMESTAMP(3);
