-- Project membership: who may annotate, review or administer each project. Instance admins
-- (User.role = 'admin') administer every project without a row here.
CREATE TABLE "ProjectMember" (
    "projectId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "role" "Role" NOT NULL DEFAULT 'annotator',
    "createdById" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ProjectMember_pkey" PRIMARY KEY ("projectId","userId")
);

CREATE INDEX "ProjectMember_userId_idx" ON "ProjectMember"("userId");

ALTER TABLE "ProjectMember" ADD CONSTRAINT "ProjectMember_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "ProjectMember" ADD CONSTRAINT "ProjectMember_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Nothing that worked before stops working: every existing non-admin user becomes a member of
-- every existing project, with their account role. Projects created from now on start with no
-- members; an admin adds them (People page, `pairwise members add`, or REST).
INSERT INTO "ProjectMember" ("projectId", "userId", "role")
SELECT p.id, u.id, u.role FROM "Project" p CROSS JOIN "User" u WHERE u.role <> 'admin';

-- API tokens an admin issues for a named AI judge: the only tokens that may record "ai" judgments.
ALTER TABLE "ApiToken" ADD COLUMN "judgeConfigId" TEXT;
ALTER TABLE "ApiToken" ADD CONSTRAINT "ApiToken_judgeConfigId_fkey" FOREIGN KEY ("judgeConfigId") REFERENCES "JudgeConfig"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The audit log page filters by action.
CREATE INDEX "AuditLog_action_createdAt_idx" ON "AuditLog"("action", "createdAt");
