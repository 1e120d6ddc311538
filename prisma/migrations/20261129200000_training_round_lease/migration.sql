-- Training rounds: a lease (one trainer works on a round at a time; a crashed trainer's round is
-- resumed by the next), an attempt counter, who asked for it, and the guard that makes rounds a
-- singleton per project: at most one queued or running round per project, whatever the trigger.
ALTER TABLE "TrainingRound" ADD COLUMN "requestedById" TEXT;
ALTER TABLE "TrainingRound" ADD COLUMN "leaseOwner" TEXT;
ALTER TABLE "TrainingRound" ADD COLUMN "leaseUntil" TIMESTAMP(3);
ALTER TABLE "TrainingRound" ADD COLUMN "attempts" INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX "TrainingRound_one_active_per_project" ON "TrainingRound" ("projectId") WHERE status IN ('queued', 'running');
