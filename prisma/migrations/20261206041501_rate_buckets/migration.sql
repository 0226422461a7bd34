-- Slack's and Teams' per-channel pacing and 429 blocks shared by every process on one PostgreSQL
-- database (issue #18 item 4), instead of each process's memory.
-- CreateTable
CREATE TABLE "rate_bucket" (
    "key" TEXT NOT NULL,
    "tokens" DOUBLE PRECISION[],
    "at" TIMESTAMPTZ(3) NOT NULL,
    "blocked_until" TIMESTAMPTZ(3),

    CONSTRAINT "rate_bucket_pkey" PRIMARY KEY ("key")
);
