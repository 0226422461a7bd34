-- A post is made only by the process that claimed it: claimed_until bounds how long a claim on an
-- unrecorded post (message_id null) holds before another attempt may take it over (issue #18).
-- AlterTable
ALTER TABLE "card_ref" ADD COLUMN     "claimed_until" TIMESTAMPTZ(3);
