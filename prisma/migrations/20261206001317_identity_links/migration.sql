-- CreateTable
CREATE TABLE "identity_link" (
    "platform" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "external_user_id" TEXT NOT NULL,
    "person_id" TEXT NOT NULL,
    "linked_by" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "identity_link_pkey" PRIMARY KEY ("platform","tenant_id","external_user_id")
);

-- CreateTable
CREATE TABLE "directory_event" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "type" TEXT NOT NULL,
    "platform" TEXT NOT NULL,
    "tenant_id" TEXT,
    "external_user_id" TEXT,
    "person_id" TEXT,
    "detail" TEXT NOT NULL,
    "data" JSONB,

    CONSTRAINT "directory_event_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "identity_link_person_id_idx" ON "identity_link"("person_id");

-- CreateIndex
CREATE INDEX "directory_event_at_idx" ON "directory_event"("at");

-- CreateIndex
CREATE INDEX "directory_event_external_user_id_idx" ON "directory_event"("external_user_id");

-- Data: links made before this migration matched the roster's free-text email in any tenant, even
-- to people whose Teams ids the playbook pins (issue 15). None of them can be trusted, so each is
-- deleted, with a line in the new audit log; the person links again by their UPN if the new rules
-- allow it. A personal chat stored for a person through such a link (its user is the linked Teams
-- account) would send that person's cards to whoever was linked: deleted too.
INSERT INTO "directory_event" ("at", "type", "platform", "external_user_id", "person_id", "detail")
SELECT now(), 'identity.link_revoked', 'teams', substr("key", 6), "reference"->>'personId',
       'a Teams account linked by roster email before tenants, UPN and pinned ids were checked; deleted by the identity_links migration'
FROM "conversation_ref"
WHERE "platform" = 'teams' AND "key" LIKE 'user:%';

DELETE FROM "conversation_ref" AS chat
USING "conversation_ref" AS link
WHERE chat."platform" = 'teams' AND link."platform" = 'teams'
  AND link."key" = 'user:' || (chat."reference"->'user'->>'id')
  AND link."reference"->>'personId' = chat."key";

DELETE FROM "conversation_ref" WHERE "platform" = 'teams' AND "key" LIKE 'user:%';

-- The one service URL and tenant any install overwrote (another tenant's included): replaced by
-- one per served tenant ("service:<tenant>"), learned again from the next activity.
DELETE FROM "conversation_ref" WHERE "platform" = 'teams' AND "key" = 'bot:service';
