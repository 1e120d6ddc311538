-- Status columns as enums (issue #17): the database refuses a value the code does not know, and
-- the Prisma client types them. Values are those server/enums.ts and server/training/rounds.ts
-- list; a row with any other value makes this migration fail (none exist: the code never wrote one).
CREATE TYPE "RoundStatus" AS ENUM ('queued', 'running', 'succeeded', 'skipped', 'failed', 'cancelled');
CREATE TYPE "RoundStage" AS ENUM ('bootstrap', 'snapshot', 'reward', 'policy', 'evaluate', 'gate', 'generate', 'done');
CREATE TYPE "JudgeRunStatus" AS ENUM ('queued', 'running', 'paused', 'cancelled', 'succeeded', 'completed_with_errors', 'failed');
CREATE TYPE "JudgeAttemptStatus" AS ENUM ('ok', 'unparseable', 'failed');
CREATE TYPE "JobStatus" AS ENUM ('queued', 'running', 'succeeded', 'failed');
CREATE TYPE "JobKind" AS ENUM ('import', 'export');
CREATE TYPE "SnapshotStatus" AS ENUM ('building', 'ready', 'failed');

-- The partial index compares status with text literals: rebuild it over the enum.
DROP INDEX IF EXISTS "TrainingRound_one_active_per_project";

ALTER TABLE "TrainingRound" ALTER COLUMN "status" DROP DEFAULT,
  ALTER COLUMN "status" TYPE "RoundStatus" USING "status"::"RoundStatus",
  ALTER COLUMN "status" SET DEFAULT 'queued';
ALTER TABLE "TrainingRound" ALTER COLUMN "stage" DROP DEFAULT,
  ALTER COLUMN "stage" TYPE "RoundStage" USING "stage"::"RoundStage",
  ALTER COLUMN "stage" SET DEFAULT 'snapshot';
ALTER TABLE "JudgeRun" ALTER COLUMN "status" DROP DEFAULT,
  ALTER COLUMN "status" TYPE "JudgeRunStatus" USING "status"::"JudgeRunStatus",
  ALTER COLUMN "status" SET DEFAULT 'queued';
ALTER TABLE "JudgeAttempt"
  ALTER COLUMN "status" TYPE "JudgeAttemptStatus" USING "status"::"JudgeAttemptStatus";
ALTER TABLE "ImportJob" ALTER COLUMN "status" DROP DEFAULT,
  ALTER COLUMN "status" TYPE "JobStatus" USING "status"::"JobStatus",
  ALTER COLUMN "status" SET DEFAULT 'queued';
ALTER TABLE "ImportJob" ALTER COLUMN "kind" DROP DEFAULT,
  ALTER COLUMN "kind" TYPE "JobKind" USING "kind"::"JobKind",
  ALTER COLUMN "kind" SET DEFAULT 'import';
ALTER TABLE "DatasetSnapshot" ALTER COLUMN "status" DROP DEFAULT,
  ALTER COLUMN "status" TYPE "SnapshotStatus" USING "status"::"SnapshotStatus",
  ALTER COLUMN "status" SET DEFAULT 'ready';

CREATE UNIQUE INDEX "TrainingRound_one_active_per_project" ON "TrainingRound" ("projectId")
  WHERE status IN ('queued', 'running');
