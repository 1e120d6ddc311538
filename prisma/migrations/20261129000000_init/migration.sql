-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "Role" AS ENUM ('admin', 'reviewer', 'annotator');

-- CreateEnum
CREATE TYPE "Split" AS ENUM ('train', 'validation', 'test');

-- CreateEnum
CREATE TYPE "ComparisonStatus" AS ENUM ('open', 'complete', 'review', 'adjudicated', 'flagged');

-- CreateEnum
CREATE TYPE "AssignmentStatus" AS ENUM ('active', 'submitted', 'skipped', 'expired');

-- CreateEnum
CREATE TYPE "JudgmentSource" AS ENUM ('human', 'ai', 'import', 'adjudication');

-- CreateEnum
CREATE TYPE "CheckpointKind" AS ENUM ('sft', 'policy', 'reward');

-- CreateTable
CREATE TABLE "User" (
    "id" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "passwordHash" TEXT,
    "role" "Role" NOT NULL DEFAULT 'annotator',
    "active" BOOLEAN NOT NULL DEFAULT true,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastLoginAt" TIMESTAMP(3),

    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Invite" (
    "id" TEXT NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "email" TEXT,
    "role" "Role" NOT NULL DEFAULT 'annotator',
    "createdById" TEXT NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "usedAt" TIMESTAMP(3),
    "usedById" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Invite_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ApiToken" (
    "id" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "scopes" TEXT[],
    "lastUsedAt" TIMESTAMP(3),
    "expiresAt" TIMESTAMP(3),
    "revokedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ApiToken_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Project" (
    "id" TEXT NOT NULL,
    "slug" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "instructions" TEXT NOT NULL DEFAULT '',
    "labelSchema" JSONB NOT NULL,
    "overlap" INTEGER NOT NULL DEFAULT 1,
    "goldRatio" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "aiCountsTowardConsensus" BOOLEAN NOT NULL DEFAULT false,
    "consensusRule" TEXT NOT NULL DEFAULT 'majority',
    "settings" JSONB NOT NULL DEFAULT '{}',
    "archived" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Project_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Prompt" (
    "id" TEXT NOT NULL,
    "projectId" TEXT NOT NULL,
    "contentHash" TEXT NOT NULL,
    "text" TEXT,
    "messages" JSONB,
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "split" "Split" NOT NULL DEFAULT 'train',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Prompt_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Completion" (
    "id" TEXT NOT NULL,
    "projectId" TEXT NOT NULL,
    "promptId" TEXT NOT NULL,
    "contentHash" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "modelName" TEXT NOT NULL DEFAULT 'unknown',
    "checkpointId" TEXT,
    "samplingParams" JSONB NOT NULL DEFAULT '{}',
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Completion_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Comparison" (
    "id" TEXT NOT NULL,
    "projectId" TEXT NOT NULL,
    "promptId" TEXT NOT NULL,
    "completionIds" TEXT[],
    "contentHash" TEXT NOT NULL,
    "status" "ComparisonStatus" NOT NULL DEFAULT 'open',
    "priority" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "isGold" BOOLEAN NOT NULL DEFAULT false,
    "goldAnswer" JSONB,
    "judgmentCount" INTEGER NOT NULL DEFAULT 0,
    "leaseCount" INTEGER NOT NULL DEFAULT 0,
    "agreement" DOUBLE PRECISION,
    "source" TEXT NOT NULL DEFAULT 'import',
    "roundId" TEXT,
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completedAt" TIMESTAMP(3),

    CONSTRAINT "Comparison_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Assignment" (
    "id" TEXT NOT NULL,
    "projectId" TEXT NOT NULL,
    "comparisonId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "displayOrder" TEXT[],
    "status" "AssignmentStatus" NOT NULL DEFAULT 'active',
    "leasedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "heartbeatAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "endedAt" TIMESTAMP(3),
    "skipReason" TEXT,

    CONSTRAINT "Assignment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Judgment" (
    "id" TEXT NOT NULL,
    "idempotencyKey" TEXT NOT NULL,
    "projectId" TEXT NOT NULL,
    "comparisonId" TEXT NOT NULL,
    "source" "JudgmentSource" NOT NULL,
    "userId" TEXT,
    "judgeConfigId" TEXT,
    "judgeRunId" TEXT,
    "assignmentId" TEXT,
    "verdict" JSONB NOT NULL,
    "rationale" TEXT,
    "ratings" JSONB,
    "flag" TEXT,
    "flagReason" TEXT,
    "displayOrder" TEXT[],
    "timeSpentMs" INTEGER,
    "confidence" DOUBLE PRECISION,
    "isGoldCheck" BOOLEAN NOT NULL DEFAULT false,
    "goldCorrect" BOOLEAN,
    "supersedesId" TEXT,
    "supersededAt" TIMESTAMP(3),
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Judgment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "PreferencePair" (
    "id" TEXT NOT NULL,
    "projectId" TEXT NOT NULL,
    "comparisonId" TEXT NOT NULL,
    "promptId" TEXT NOT NULL,
    "chosenId" TEXT NOT NULL,
    "rejectedId" TEXT NOT NULL,
    "margin" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "weight" DOUBLE PRECISION NOT NULL DEFAULT 1,
    "agreement" DOUBLE PRECISION NOT NULL DEFAULT 1,
    "judgmentIds" TEXT[],
    "origin" TEXT NOT NULL DEFAULT 'human',
    "active" BOOLEAN NOT NULL DEFAULT true,
    "retiredAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "PreferencePair_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "DatasetSnapshot" (
    "id" TEXT NOT NULL,
    "projectId" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "pairCount" INTEGER NOT NULL,
    "filter" JSONB NOT NULL DEFAULT '{}',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "DatasetSnapshot_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SnapshotPair" (
    "snapshotId" TEXT NOT NULL,
    "pairId" TEXT NOT NULL,
    "split" "Split" NOT NULL DEFAULT 'train',

    CONSTRAINT "SnapshotPair_pkey" PRIMARY KEY ("snapshotId","pairId")
);

-- CreateTable
CREATE TABLE "TrainingRound" (
    "id" TEXT NOT NULL,
    "projectId" TEXT NOT NULL,
    "number" INTEGER NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'queued',
    "stage" TEXT NOT NULL DEFAULT 'snapshot',
    "trigger" TEXT NOT NULL,
    "snapshotId" TEXT,
    "config" JSONB NOT NULL DEFAULT '{}',
    "progress" JSONB NOT NULL DEFAULT '{}',
    "result" JSONB NOT NULL DEFAULT '{}',
    "error" TEXT,
    "backend" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),

    CONSTRAINT "TrainingRound_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Checkpoint" (
    "id" TEXT NOT NULL,
    "projectId" TEXT,
    "roundId" TEXT,
    "kind" "CheckpointKind" NOT NULL,
    "name" TEXT NOT NULL,
    "path" TEXT NOT NULL,
    "parentId" TEXT,
    "snapshotId" TEXT,
    "promoted" BOOLEAN NOT NULL DEFAULT false,
    "gateReason" TEXT,
    "metrics" JSONB NOT NULL DEFAULT '{}',
    "config" JSONB NOT NULL DEFAULT '{}',
    "backend" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Checkpoint_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "MetricPoint" (
    "id" TEXT NOT NULL,
    "roundId" TEXT NOT NULL,
    "stage" TEXT NOT NULL,
    "step" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "value" DOUBLE PRECISION NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "MetricPoint_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RefLogpCache" (
    "checkpointId" TEXT NOT NULL,
    "pairKey" TEXT NOT NULL,
    "chosen" DOUBLE PRECISION NOT NULL,
    "rejected" DOUBLE PRECISION NOT NULL,

    CONSTRAINT "RefLogpCache_pkey" PRIMARY KEY ("checkpointId","pairKey")
);

-- CreateTable
CREATE TABLE "JudgeConfig" (
    "id" TEXT NOT NULL,
    "projectId" TEXT,
    "name" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    "baseUrl" TEXT,
    "model" TEXT,
    "apiKeyEncrypted" TEXT,
    "temperature" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "maxTokens" INTEGER NOT NULL DEFAULT 1024,
    "rubric" TEXT,
    "positionSwap" BOOLEAN NOT NULL DEFAULT true,
    "concurrency" INTEGER NOT NULL DEFAULT 4,
    "requestsPerMinute" INTEGER,
    "tokensPerMinute" INTEGER,
    "timeoutMs" INTEGER NOT NULL DEFAULT 60000,
    "costPerMInputTokens" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "costPerMOutputTokens" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "settings" JSONB NOT NULL DEFAULT '{}',
    "active" BOOLEAN NOT NULL DEFAULT true,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "JudgeConfig_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "JudgeRun" (
    "id" TEXT NOT NULL,
    "judgeConfigId" TEXT NOT NULL,
    "judgeVersion" INTEGER NOT NULL,
    "projectId" TEXT NOT NULL,
    "selection" JSONB NOT NULL DEFAULT '{}',
    "status" TEXT NOT NULL DEFAULT 'queued',
    "total" INTEGER NOT NULL DEFAULT 0,
    "done" INTEGER NOT NULL DEFAULT 0,
    "failed" INTEGER NOT NULL DEFAULT 0,
    "unparseable" INTEGER NOT NULL DEFAULT 0,
    "inconsistent" INTEGER NOT NULL DEFAULT 0,
    "promptTokens" INTEGER NOT NULL DEFAULT 0,
    "completionTokens" INTEGER NOT NULL DEFAULT 0,
    "costUsd" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "error" TEXT,
    "createdById" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),

    CONSTRAINT "JudgeRun_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "JudgeAttempt" (
    "id" TEXT NOT NULL,
    "runId" TEXT NOT NULL,
    "comparisonId" TEXT NOT NULL,
    "order" TEXT NOT NULL,
    "try" INTEGER NOT NULL DEFAULT 1,
    "status" TEXT NOT NULL,
    "verdict" TEXT,
    "rawReply" TEXT,
    "error" TEXT,
    "promptTokens" INTEGER NOT NULL DEFAULT 0,
    "completionTokens" INTEGER NOT NULL DEFAULT 0,
    "latencyMs" INTEGER,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "JudgeAttempt_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ImportJob" (
    "id" TEXT NOT NULL,
    "projectId" TEXT,
    "kind" TEXT NOT NULL DEFAULT 'import',
    "fileName" TEXT,
    "format" TEXT,
    "status" TEXT NOT NULL DEFAULT 'queued',
    "bytesTotal" BIGINT,
    "bytesDone" BIGINT NOT NULL DEFAULT 0,
    "rowsDone" INTEGER NOT NULL DEFAULT 0,
    "report" JSONB NOT NULL DEFAULT '{}',
    "error" TEXT,
    "createdById" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMP(3),

    CONSTRAINT "ImportJob_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AuditLog" (
    "id" TEXT NOT NULL,
    "actorId" TEXT,
    "action" TEXT NOT NULL,
    "target" TEXT,
    "data" JSONB NOT NULL DEFAULT '{}',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AuditLog_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ServiceHeartbeat" (
    "id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "pid" INTEGER NOT NULL,
    "info" JSONB NOT NULL DEFAULT '{}',
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSeenAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ServiceHeartbeat_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "User_email_key" ON "User"("email");

-- CreateIndex
CREATE UNIQUE INDEX "Invite_tokenHash_key" ON "Invite"("tokenHash");

-- CreateIndex
CREATE UNIQUE INDEX "ApiToken_tokenHash_key" ON "ApiToken"("tokenHash");

-- CreateIndex
CREATE INDEX "ApiToken_userId_idx" ON "ApiToken"("userId");

-- CreateIndex
CREATE UNIQUE INDEX "Project_slug_key" ON "Project"("slug");

-- CreateIndex
CREATE INDEX "Prompt_projectId_split_idx" ON "Prompt"("projectId", "split");

-- CreateIndex
CREATE UNIQUE INDEX "Prompt_projectId_contentHash_key" ON "Prompt"("projectId", "contentHash");

-- CreateIndex
CREATE INDEX "Completion_projectId_idx" ON "Completion"("projectId");

-- CreateIndex
CREATE INDEX "Completion_checkpointId_idx" ON "Completion"("checkpointId");

-- CreateIndex
CREATE UNIQUE INDEX "Completion_promptId_contentHash_key" ON "Completion"("promptId", "contentHash");

-- CreateIndex
CREATE INDEX "Comparison_projectId_status_isGold_priority_createdAt_idx" ON "Comparison"("projectId", "status", "isGold", "priority" DESC, "createdAt");

-- CreateIndex
CREATE INDEX "Comparison_promptId_idx" ON "Comparison"("promptId");

-- CreateIndex
CREATE UNIQUE INDEX "Comparison_projectId_contentHash_key" ON "Comparison"("projectId", "contentHash");

-- CreateIndex
CREATE INDEX "Assignment_userId_status_idx" ON "Assignment"("userId", "status");

-- CreateIndex
CREATE INDEX "Assignment_status_expiresAt_idx" ON "Assignment"("status", "expiresAt");

-- CreateIndex
CREATE UNIQUE INDEX "Assignment_comparisonId_userId_key" ON "Assignment"("comparisonId", "userId");

-- CreateIndex
CREATE UNIQUE INDEX "Judgment_idempotencyKey_key" ON "Judgment"("idempotencyKey");

-- CreateIndex
CREATE UNIQUE INDEX "Judgment_supersedesId_key" ON "Judgment"("supersedesId");

-- CreateIndex
CREATE INDEX "Judgment_comparisonId_createdAt_idx" ON "Judgment"("comparisonId", "createdAt");

-- CreateIndex
CREATE INDEX "Judgment_projectId_createdAt_idx" ON "Judgment"("projectId", "createdAt");

-- CreateIndex
CREATE INDEX "Judgment_userId_createdAt_idx" ON "Judgment"("userId", "createdAt");

-- CreateIndex
CREATE INDEX "Judgment_judgeRunId_idx" ON "Judgment"("judgeRunId");

-- CreateIndex
CREATE INDEX "PreferencePair_projectId_active_createdAt_idx" ON "PreferencePair"("projectId", "active", "createdAt");

-- CreateIndex
CREATE INDEX "PreferencePair_comparisonId_idx" ON "PreferencePair"("comparisonId");

-- CreateIndex
CREATE INDEX "DatasetSnapshot_projectId_createdAt_idx" ON "DatasetSnapshot"("projectId", "createdAt");

-- CreateIndex
CREATE INDEX "SnapshotPair_pairId_idx" ON "SnapshotPair"("pairId");

-- CreateIndex
CREATE INDEX "TrainingRound_projectId_status_idx" ON "TrainingRound"("projectId", "status");

-- CreateIndex
CREATE UNIQUE INDEX "TrainingRound_projectId_number_key" ON "TrainingRound"("projectId", "number");

-- CreateIndex
CREATE INDEX "Checkpoint_projectId_kind_createdAt_idx" ON "Checkpoint"("projectId", "kind", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "Checkpoint_roundId_kind_key" ON "Checkpoint"("roundId", "kind");

-- CreateIndex
CREATE UNIQUE INDEX "MetricPoint_roundId_stage_name_step_key" ON "MetricPoint"("roundId", "stage", "name", "step");

-- CreateIndex
CREATE INDEX "JudgeRun_projectId_createdAt_idx" ON "JudgeRun"("projectId", "createdAt");

-- CreateIndex
CREATE INDEX "JudgeAttempt_comparisonId_idx" ON "JudgeAttempt"("comparisonId");

-- CreateIndex
CREATE UNIQUE INDEX "JudgeAttempt_runId_comparisonId_order_try_key" ON "JudgeAttempt"("runId", "comparisonId", "order", "try");

-- CreateIndex
CREATE INDEX "ImportJob_projectId_createdAt_idx" ON "ImportJob"("projectId", "createdAt");

-- CreateIndex
CREATE INDEX "AuditLog_createdAt_idx" ON "AuditLog"("createdAt");

-- AddForeignKey
ALTER TABLE "Invite" ADD CONSTRAINT "Invite_createdById_fkey" FOREIGN KEY ("createdById") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ApiToken" ADD CONSTRAINT "ApiToken_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Prompt" ADD CONSTRAINT "Prompt_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Completion" ADD CONSTRAINT "Completion_promptId_fkey" FOREIGN KEY ("promptId") REFERENCES "Prompt"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Completion" ADD CONSTRAINT "Completion_checkpointId_fkey" FOREIGN KEY ("checkpointId") REFERENCES "Checkpoint"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Comparison" ADD CONSTRAINT "Comparison_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Comparison" ADD CONSTRAINT "Comparison_promptId_fkey" FOREIGN KEY ("promptId") REFERENCES "Prompt"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Assignment" ADD CONSTRAINT "Assignment_comparisonId_fkey" FOREIGN KEY ("comparisonId") REFERENCES "Comparison"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Assignment" ADD CONSTRAINT "Assignment_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Judgment" ADD CONSTRAINT "Judgment_comparisonId_fkey" FOREIGN KEY ("comparisonId") REFERENCES "Comparison"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Judgment" ADD CONSTRAINT "Judgment_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PreferencePair" ADD CONSTRAINT "PreferencePair_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PreferencePair" ADD CONSTRAINT "PreferencePair_comparisonId_fkey" FOREIGN KEY ("comparisonId") REFERENCES "Comparison"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "DatasetSnapshot" ADD CONSTRAINT "DatasetSnapshot_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SnapshotPair" ADD CONSTRAINT "SnapshotPair_snapshotId_fkey" FOREIGN KEY ("snapshotId") REFERENCES "DatasetSnapshot"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SnapshotPair" ADD CONSTRAINT "SnapshotPair_pairId_fkey" FOREIGN KEY ("pairId") REFERENCES "PreferencePair"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TrainingRound" ADD CONSTRAINT "TrainingRound_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Checkpoint" ADD CONSTRAINT "Checkpoint_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Checkpoint" ADD CONSTRAINT "Checkpoint_roundId_fkey" FOREIGN KEY ("roundId") REFERENCES "TrainingRound"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "MetricPoint" ADD CONSTRAINT "MetricPoint_roundId_fkey" FOREIGN KEY ("roundId") REFERENCES "TrainingRound"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "JudgeConfig" ADD CONSTRAINT "JudgeConfig_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "JudgeRun" ADD CONSTRAINT "JudgeRun_judgeConfigId_fkey" FOREIGN KEY ("judgeConfigId") REFERENCES "JudgeConfig"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "JudgeRun" ADD CONSTRAINT "JudgeRun_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "JudgeAttempt" ADD CONSTRAINT "JudgeAttempt_runId_fkey" FOREIGN KEY ("runId") REFERENCES "JudgeRun"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ImportJob" ADD CONSTRAINT "ImportJob_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project"("id") ON DELETE CASCADE ON UPDATE CASCADE;

