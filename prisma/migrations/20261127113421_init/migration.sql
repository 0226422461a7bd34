-- CreateTable
CREATE TABLE "team" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "stage" TEXT NOT NULL,
    "time_zone" TEXT NOT NULL,
    "lead_id" TEXT NOT NULL,
    "head_id" TEXT NOT NULL,
    "slack_channel" TEXT,
    "teams_channel" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "team_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "person" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "team_id" TEXT NOT NULL,
    "manager_id" TEXT,
    "slack_user_id" TEXT,
    "teams_user_id" TEXT,
    "aad_object_id" TEXT,
    "time_zone" TEXT NOT NULL,
    "away_until" TEXT,
    "active" BOOLEAN NOT NULL DEFAULT true,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "person_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "account" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "name_key" TEXT NOT NULL,
    "domain" TEXT,
    "crm_id" TEXT,
    "segment" TEXT,
    "region" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "account_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "account_owner" (
    "account_id" INTEGER NOT NULL,
    "stage" TEXT NOT NULL,
    "person_id" TEXT NOT NULL,
    "handoff_id" INTEGER,
    "since" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "account_owner_pkey" PRIMARY KEY ("account_id","stage")
);

-- CreateTable
CREATE TABLE "handoff" (
    "id" SERIAL NOT NULL,
    "transition_id" TEXT NOT NULL,
    "account_id" INTEGER NOT NULL,
    "from_id" TEXT NOT NULL,
    "owner_id" TEXT NOT NULL,
    "team_id" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "packet" JSONB NOT NULL,
    "routing_reason" TEXT NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    "idempotency_key" TEXT,
    "request_hash" TEXT,
    "external_id" TEXT,
    "policy" JSONB NOT NULL,
    "sla_accept_due_at" TIMESTAMPTZ(3),
    "sla_first_touch_due_at" TIMESTAMPTZ(3),
    "timer_token" TEXT,
    "escalation_level" INTEGER NOT NULL DEFAULT 0,
    "accepted_at" TIMESTAMPTZ(3),
    "first_touch_at" TIMESTAMPTZ(3),
    "closed_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "handoff_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "handoff_event" (
    "id" BIGSERIAL NOT NULL,
    "handoff_id" INTEGER NOT NULL,
    "version" INTEGER NOT NULL,
    "type" TEXT NOT NULL,
    "actor_id" TEXT,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "from_status" TEXT,
    "to_status" TEXT NOT NULL,
    "owner_id" TEXT,
    "reason_code" TEXT,
    "note" TEXT,
    "data" JSONB,

    CONSTRAINT "handoff_event_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "card_ref" (
    "id" SERIAL NOT NULL,
    "handoff_id" INTEGER NOT NULL,
    "platform" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "conversation_id" TEXT NOT NULL,
    "message_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "card_ref_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "outbox_event" (
    "id" BIGSERIAL NOT NULL,
    "handoff_id" INTEGER,
    "type" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "outbox_event_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "outbox_delivery" (
    "event_id" BIGINT NOT NULL,
    "consumer" TEXT NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "available_at" TIMESTAMPTZ(3) NOT NULL,
    "locked_until" TIMESTAMPTZ(3),
    "delivered_at" TIMESTAMPTZ(3),
    "failed_at" TIMESTAMPTZ(3),
    "last_error" TEXT,

    CONSTRAINT "outbox_delivery_pkey" PRIMARY KEY ("event_id","consumer")
);

-- CreateTable
CREATE TABLE "routing_cursor" (
    "queue_key" TEXT NOT NULL,
    "person_id" TEXT NOT NULL,
    "assigned" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "routing_cursor_pkey" PRIMARY KEY ("queue_key","person_id")
);

-- CreateTable
CREATE TABLE "sla_breach" (
    "id" SERIAL NOT NULL,
    "handoff_id" INTEGER NOT NULL,
    "transition_id" TEXT NOT NULL,
    "team_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "owner_id" TEXT NOT NULL,
    "due_at" TIMESTAMPTZ(3) NOT NULL,
    "fired_at" TIMESTAMPTZ(3) NOT NULL,
    "level" INTEGER NOT NULL,
    "escalated_to_id" TEXT,

    CONSTRAINT "sla_breach_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sla_firing" (
    "handoff_id" INTEGER NOT NULL,
    "timer_token" TEXT NOT NULL,
    "step" TEXT NOT NULL,
    "fired_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "sla_firing_pkey" PRIMARY KEY ("handoff_id","timer_token","step")
);

-- CreateTable
CREATE TABLE "conversation_ref" (
    "platform" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "reference" JSONB NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "conversation_ref_pkey" PRIMARY KEY ("platform","key")
);

-- CreateTable
CREATE TABLE "platform_event" (
    "platform" TEXT NOT NULL,
    "event_id" TEXT NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "platform_event_pkey" PRIMARY KEY ("platform","event_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "person_email_key" ON "person"("email");

-- CreateIndex
CREATE UNIQUE INDEX "person_slack_user_id_key" ON "person"("slack_user_id");

-- CreateIndex
CREATE UNIQUE INDEX "person_teams_user_id_key" ON "person"("teams_user_id");

-- CreateIndex
CREATE UNIQUE INDEX "person_aad_object_id_key" ON "person"("aad_object_id");

-- CreateIndex
CREATE UNIQUE INDEX "account_domain_key" ON "account"("domain");

-- CreateIndex
CREATE UNIQUE INDEX "account_crm_id_key" ON "account"("crm_id");

-- CreateIndex
CREATE INDEX "account_name_key_idx" ON "account"("name_key");

-- CreateIndex
CREATE UNIQUE INDEX "handoff_idempotency_key_key" ON "handoff"("idempotency_key");

-- CreateIndex
CREATE INDEX "handoff_owner_id_status_idx" ON "handoff"("owner_id", "status");

-- CreateIndex
CREATE INDEX "handoff_team_id_status_idx" ON "handoff"("team_id", "status");

-- CreateIndex
CREATE INDEX "handoff_account_id_idx" ON "handoff"("account_id");

-- CreateIndex
CREATE INDEX "handoff_status_created_at_idx" ON "handoff"("status", "created_at");

-- CreateIndex
CREATE INDEX "handoff_transition_id_created_at_idx" ON "handoff"("transition_id", "created_at");

-- CreateIndex
CREATE INDEX "handoff_event_handoff_id_version_idx" ON "handoff_event"("handoff_id", "version");

-- CreateIndex
CREATE INDEX "handoff_event_type_at_idx" ON "handoff_event"("type", "at");

-- CreateIndex
CREATE UNIQUE INDEX "card_ref_handoff_id_platform_kind_conversation_id_key" ON "card_ref"("handoff_id", "platform", "kind", "conversation_id");

-- CreateIndex
CREATE INDEX "outbox_delivery_delivered_at_failed_at_available_at_idx" ON "outbox_delivery"("delivered_at", "failed_at", "available_at");

-- CreateIndex
CREATE INDEX "sla_breach_fired_at_idx" ON "sla_breach"("fired_at");

-- CreateIndex
CREATE INDEX "sla_breach_team_id_fired_at_idx" ON "sla_breach"("team_id", "fired_at");

-- CreateIndex
CREATE UNIQUE INDEX "sla_breach_handoff_id_kind_due_at_level_key" ON "sla_breach"("handoff_id", "kind", "due_at", "level");

-- CreateIndex
CREATE INDEX "platform_event_received_at_idx" ON "platform_event"("received_at");

-- AddForeignKey
ALTER TABLE "person" ADD CONSTRAINT "person_team_id_fkey" FOREIGN KEY ("team_id") REFERENCES "team"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "account_owner" ADD CONSTRAINT "account_owner_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "account"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "handoff" ADD CONSTRAINT "handoff_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "account"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "handoff" ADD CONSTRAINT "handoff_from_id_fkey" FOREIGN KEY ("from_id") REFERENCES "person"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "handoff" ADD CONSTRAINT "handoff_owner_id_fkey" FOREIGN KEY ("owner_id") REFERENCES "person"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "handoff_event" ADD CONSTRAINT "handoff_event_handoff_id_fkey" FOREIGN KEY ("handoff_id") REFERENCES "handoff"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "card_ref" ADD CONSTRAINT "card_ref_handoff_id_fkey" FOREIGN KEY ("handoff_id") REFERENCES "handoff"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "outbox_delivery" ADD CONSTRAINT "outbox_delivery_event_id_fkey" FOREIGN KEY ("event_id") REFERENCES "outbox_event"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
