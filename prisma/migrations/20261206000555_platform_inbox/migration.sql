-- CreateTable
CREATE TABLE "platform_inbox" (
    "id" BIGSERIAL NOT NULL,
    "platform" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 1,
    "lease_until" TIMESTAMPTZ(3) NOT NULL,
    "applied_at" TIMESTAMPTZ(3),
    "failed_at" TIMESTAMPTZ(3),

    CONSTRAINT "platform_inbox_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "platform_inbox_lease_until_idx" ON "platform_inbox"("lease_until");

-- CreateIndex
CREATE UNIQUE INDEX "platform_inbox_platform_key_key" ON "platform_inbox"("platform", "key");
