-- Abuse limits shared by every web process (server/auth/rate-limit.ts): one row per (bucket, key),
-- e.g. ('signin.account', 'ann@example.com'), counting hits in the current fixed window.
CREATE TABLE "RateLimit" (
    "bucket" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "windowStart" TIMESTAMP(3) NOT NULL,
    "count" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "RateLimit_pkey" PRIMARY KEY ("bucket","key")
);

-- Old windows are swept by windowStart.
CREATE INDEX "RateLimit_windowStart_idx" ON "RateLimit"("windowStart");
