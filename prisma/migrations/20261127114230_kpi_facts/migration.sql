-- AlterTable
ALTER TABLE "handoff" ADD COLUMN     "accept_business_s" INTEGER,
ADD COLUMN     "accept_wall_s" INTEGER,
ADD COLUMN     "first_touch_business_s" INTEGER,
ADD COLUMN     "first_touch_wall_s" INTEGER,
ADD COLUMN     "reassign_count" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "reject_reason" TEXT;

-- CreateIndex
CREATE INDEX "handoff_created_at_idx" ON "handoff"("created_at");

-- CreateIndex
CREATE INDEX "handoff_team_id_created_at_idx" ON "handoff"("team_id", "created_at");
