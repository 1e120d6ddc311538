-- AI judges: a lease on each judge run, so one runner works on a run at a time and a crashed
-- runner's run is resumed by another.
ALTER TABLE "JudgeRun" ADD COLUMN "leaseOwner" TEXT;
ALTER TABLE "JudgeRun" ADD COLUMN "leaseUntil" TIMESTAMP(3);
