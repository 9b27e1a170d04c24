-- Webhooks: an owner's subscriptions to run events, an outbox of events written by triggers in the
-- very transaction that commits a status change, and each event's deliveries and their attempts.

CREATE TABLE "webhooks" (
    "id" UUID NOT NULL,
    "owner" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "events" TEXT[] NOT NULL,
    "description" TEXT,
    -- The signing secret, sealed with AES-256-GCM under a key from WEBHOOK_SECRET_KEY: a dump of
    -- the database alone does not reveal it.
    "secret_sealed" TEXT NOT NULL,
    -- Set on the first failed attempt after a success; a webhook failing for long enough is disabled.
    "failing_since" TIMESTAMPTZ(3),
    "disabled_at" TIMESTAMPTZ(3),
    "disabled_reason" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
    CONSTRAINT "webhooks_pkey" PRIMARY KEY ("id")
);

CREATE INDEX "webhooks_owner_created_at_idx" ON "webhooks"("owner", "created_at");

-- The outbox. A row is written only when some enabled webhook of the owner subscribes to the type.
CREATE TABLE "webhook_events" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "type" TEXT NOT NULL,
    "owner" TEXT NOT NULL,
    "subject_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT clock_timestamp(),
    -- When the relay turned the event into deliveries; null while it waits in the outbox.
    "relayed_at" TIMESTAMPTZ(3),
    CONSTRAINT "webhook_events_pkey" PRIMARY KEY ("id")
);

CREATE INDEX "webhook_events_unrelayed_idx" ON "webhook_events"("created_at") WHERE "relayed_at" IS NULL;
-- Relayed events (and with them their deliveries) are removed after WEBHOOK_HISTORY_DAYS.
CREATE INDEX "webhook_events_relayed_at_idx" ON "webhook_events"("relayed_at");

-- One event for one webhook: the exact body sent on every attempt, and where its retries stand.
CREATE TABLE "webhook_deliveries" (
    "id" UUID NOT NULL,
    "webhook_id" UUID NOT NULL,
    "event_id" UUID NOT NULL,
    "event_type" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3),
    "retry_until" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
    CONSTRAINT "webhook_deliveries_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "webhook_deliveries_status_check" CHECK ("status" IN ('pending', 'succeeded', 'failed'))
);

CREATE UNIQUE INDEX "webhook_deliveries_webhook_id_event_id_key" ON "webhook_deliveries"("webhook_id", "event_id");
CREATE INDEX "webhook_deliveries_webhook_id_created_at_idx" ON "webhook_deliveries"("webhook_id", "created_at");
-- The relay's look for pending deliveries whose queue message was lost (a Redis flush, a crash).
CREATE INDEX "webhook_deliveries_pending_idx" ON "webhook_deliveries"("next_attempt_at") WHERE "status" = 'pending';

ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_webhook_id_fkey" FOREIGN KEY ("webhook_id") REFERENCES "webhooks"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_event_id_fkey" FOREIGN KEY ("event_id") REFERENCES "webhook_events"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "webhook_delivery_attempts" (
    "delivery_id" UUID NOT NULL,
    "attempt" INTEGER NOT NULL,
    "status_code" INTEGER,
    "duration_ms" INTEGER NOT NULL,
    "error" TEXT,
    -- The start of the receiver's answer, for whoever looks into a failure.
    "response_excerpt" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
    CONSTRAINT "webhook_delivery_attempts_pkey" PRIMARY KEY ("delivery_id", "attempt")
);

ALTER TABLE "webhook_delivery_attempts" ADD CONSTRAINT "webhook_delivery_attempts_delivery_id_fkey" FOREIGN KEY ("delivery_id") REFERENCES "webhook_deliveries"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Writes an event to the outbox when an enabled webhook of `event_owner` wants it. Called by the
-- triggers below, so the event commits or rolls back with the change it reports: no code path that
-- ends a run (worker, cancel, claim, sweep driver) can forget it, and no crash can separate them.
CREATE FUNCTION "webhook_outbox_add"(event_type TEXT, event_owner TEXT, subject UUID) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM "webhooks" AS w
        WHERE w."owner" = event_owner AND w."disabled_at" IS NULL
          AND (event_type = ANY (w."events") OR '*' = ANY (w."events"))
    ) THEN
        INSERT INTO "webhook_events" ("type", "owner", "subject_id") VALUES (event_type, event_owner, subject);
    END IF;
END
$$;

-- job.started on a job's first start (a retry after a crash is not a new start); job.<status> when
-- it ends.
CREATE FUNCTION "jobs_webhook_events"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW."status" = 'running' AND OLD."started_at" IS NULL AND NEW."started_at" IS NOT NULL THEN
        PERFORM "webhook_outbox_add"('job.started', NEW."owner", NEW."id");
    ELSIF NEW."status" IN ('completed', 'failed', 'cancelled') AND OLD."status" IS DISTINCT FROM NEW."status" THEN
        PERFORM "webhook_outbox_add"('job.' || NEW."status"::text, NEW."owner", NEW."id");
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER "jobs_webhook_events"
AFTER UPDATE OF "status" ON "jobs"
FOR EACH ROW EXECUTE FUNCTION "jobs_webhook_events"();

CREATE FUNCTION "sweeps_webhook_events"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW."status" IN ('completed', 'cancelled') AND OLD."status" IS DISTINCT FROM NEW."status" THEN
        PERFORM "webhook_outbox_add"('sweep.' || NEW."status"::text, NEW."owner", NEW."id");
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER "sweeps_webhook_events"
AFTER UPDATE OF "status" ON "sweeps"
FOR EACH ROW EXECUTE FUNCTION "sweeps_webhook_events"();

-- model.best: a run's best model was stored or replaced; the event's subject is the job.
CREATE FUNCTION "models_webhook_events"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM "webhook_outbox_add"('model.best', j."owner", j."id") FROM "jobs" AS j WHERE j."id" = NEW."job_id";
    RETURN NULL;
END
$$;

CREATE TRIGGER "models_webhook_events"
AFTER INSERT OR UPDATE ON "models"
FOR EACH ROW WHEN (NEW."version" = 'best')
EXECUTE FUNCTION "models_webhook_events"();
