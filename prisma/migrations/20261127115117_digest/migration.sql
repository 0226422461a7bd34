-- CreateTable
CREATE TABLE "digest_subscription" (
    "person_id" TEXT NOT NULL,
    "subscribed" BOOLEAN NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "digest_subscription_pkey" PRIMARY KEY ("person_id")
);

-- CreateTable
CREATE TABLE "digest_send" (
    "person_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "period_start" TIMESTAMPTZ(3) NOT NULL,
    "sent_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "digest_send_pkey" PRIMARY KEY ("person_id","kind","period_start")
);
