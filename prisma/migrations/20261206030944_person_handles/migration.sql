-- Platform identities move off the person row into their own table, so that one person can have
-- several (a Slack id in each of two workspaces, a Teams guest id in another tenant). The playbook's
-- ids become "playbook" handles (workspace unknown: the playbook names none); the Teams users linked
-- by sign-in name (identity_link) become "linked" handles, in their tenant. Then the old places go.

-- CreateTable
CREATE TABLE "person_handle" (
    "platform" TEXT NOT NULL,
    "workspace" TEXT NOT NULL DEFAULT '',
    "external_id" TEXT NOT NULL,
    "person_id" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "person_handle_pkey" PRIMARY KEY ("platform","workspace","external_id")
);

-- CreateIndex
CREATE INDEX "person_handle_person_id_idx" ON "person_handle"("person_id");

-- Data: the ids the last start synced from the playbook (the next start replaces them anyway).
-- Entra object ids are GUIDs, compared without case: stored lower-case.
INSERT INTO "person_handle" ("platform", "workspace", "external_id", "person_id", "source")
SELECT 'slack', '', "slack_user_id", "id", 'playbook' FROM "person" WHERE "slack_user_id" IS NOT NULL
UNION ALL
SELECT 'teams', '', "teams_user_id", "id", 'playbook' FROM "person" WHERE "teams_user_id" IS NOT NULL
UNION ALL
SELECT 'aad', '', lower("aad_object_id"), "id", 'playbook' FROM "person" WHERE "aad_object_id" IS NOT NULL
ON CONFLICT DO NOTHING;

-- Data: links made at run time keep their tenant, person and time.
INSERT INTO "person_handle" ("platform", "workspace", "external_id", "person_id", "source", "created_at")
SELECT "platform", "tenant_id", "external_user_id", "person_id", 'linked', "created_at" FROM "identity_link"
ON CONFLICT DO NOTHING;

-- DropTable
DROP TABLE "identity_link";

-- DropIndex
DROP INDEX "person_aad_object_id_key";

-- DropIndex
DROP INDEX "person_slack_user_id_key";

-- DropIndex
DROP INDEX "person_teams_user_id_key";

-- AlterTable
ALTER TABLE "person" DROP COLUMN "aad_object_id",
DROP COLUMN "slack_user_id",
DROP COLUMN "teams_user_id";
