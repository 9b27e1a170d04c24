-- Retention of finished runs and per-owner defaults (README "Retention").

-- Defaults an admin sets per owner: a null column is no default (the next level applies).
CREATE TABLE "owner_settings" (
    "owner" TEXT NOT NULL,
    "retention_days" INTEGER CHECK ("retention_days" BETWEEN 1 AND 3650),
    "max_duration_seconds" INTEGER CHECK ("max_duration_seconds" BETWEEN 1 AND 2147483),
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
    CONSTRAINT "owner_settings_pkey" PRIMARY KEY ("owner")
);

-- Stamped when a run finishes: how long it is kept, which level said so, and when it expires.
-- `max_duration_seconds` is the time limit the run trains under (its spec's, else its owner's default).
ALTER TABLE "jobs" ADD COLUMN "retention_days" INTEGER;
ALTER TABLE "jobs" ADD COLUMN "retention_source" TEXT
    CHECK ("retention_source" IN ('job', 'sweep', 'owner', 'server'));
ALTER TABLE "jobs" ADD COLUMN "expires_at" TIMESTAMPTZ(3);
ALTER TABLE "jobs" ADD COLUMN "max_duration_seconds" INTEGER;
-- The purge and its preview walk expired runs in expiry order; runs kept forever are not indexed.
CREATE INDEX "jobs_expires_at_idx" ON "jobs"("expires_at") WHERE "expires_at" IS NOT NULL;

-- A run's retention by precedence: its own spec's `retention`, its sweep's, its owner's default, the
-- server's (RUN_RETENTION_DAYS, which each process gives its connections as the setting
-- trainer.run_retention_days), else none. `days` null with a source: kept forever on purpose.
CREATE FUNCTION "run_retention"(job_spec JSONB, job_sweep UUID, job_owner TEXT, OUT days INTEGER, OUT source TEXT)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    sweep_spec JSONB;
    owner_days INTEGER;
    server_days TEXT;
BEGIN
    IF jsonb_typeof(job_spec -> 'retention') = 'object' THEN
        days := (job_spec -> 'retention' ->> 'days')::INTEGER;
        source := 'job';
        RETURN;
    END IF;
    IF job_sweep IS NOT NULL THEN
        SELECT s."spec" INTO sweep_spec FROM "sweeps" AS s WHERE s."id" = job_sweep;
        IF jsonb_typeof(sweep_spec -> 'retention') = 'object' THEN
            days := (sweep_spec -> 'retention' ->> 'days')::INTEGER;
            source := 'sweep';
            RETURN;
        END IF;
    END IF;
    SELECT o."retention_days" INTO owner_days FROM "owner_settings" AS o WHERE o."owner" = job_owner;
    IF owner_days IS NOT NULL THEN
        days := owner_days;
        source := 'owner';
        RETURN;
    END IF;
    server_days := current_setting('trainer.run_retention_days', true);
    IF server_days ~ '^[0-9]+$' THEN
        days := server_days::INTEGER;
        source := 'server';
    END IF;
END $$;

-- Every statement that ends a run sets finished_at, so the expiry is stamped here, once, whichever
-- path ended it (a worker, a cancel, the reconciler, a sweep). Naming finished_at in an UPDATE
-- again stamps it afresh: that is how a changed owner default reaches the owner's finished runs.
CREATE FUNCTION "jobs_stamp_expiry"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW."finished_at" IS NULL THEN
        NEW."retention_days" := NULL;
        NEW."retention_source" := NULL;
        NEW."expires_at" := NULL;
        RETURN NEW;
    END IF;
    SELECT r.days, r.source INTO NEW."retention_days", NEW."retention_source"
    FROM "run_retention"(NEW."spec", NEW."sweep_id", NEW."owner") AS r;
    NEW."expires_at" := NEW."finished_at" + make_interval(days => NEW."retention_days");
    RETURN NEW;
END $$;

CREATE TRIGGER "jobs_stamp_expiry"
BEFORE INSERT OR UPDATE OF "finished_at" ON "jobs"
FOR EACH ROW EXECUTE FUNCTION "jobs_stamp_expiry"();

-- A run's time limit is fixed when it is submitted (every path inserts a row): its spec's
-- maxDurationSeconds, else its owner's default at that moment.
CREATE FUNCTION "jobs_effective_time_limit"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW."max_duration_seconds" := COALESCE(
        (NEW."spec" ->> 'maxDurationSeconds')::INTEGER,
        (SELECT o."max_duration_seconds" FROM "owner_settings" AS o WHERE o."owner" = NEW."owner"));
    RETURN NEW;
END $$;

CREATE TRIGGER "jobs_effective_time_limit"
BEFORE INSERT ON "jobs"
FOR EACH ROW EXECUTE FUNCTION "jobs_effective_time_limit"();

-- Deleting a model (its job's cascade: DELETE /jobs/:id and the purge) runs models_release_artifacts,
-- which asks whether any other model row still refers to each artifact. Without these indexes every
-- deleted model scanned all of `models`: 3.6 ms a model at 10,000 models, 181 of a 193 ms batch of 50
-- runs; with them the batch takes 14 ms.
CREATE INDEX "models_model_json_artifact_id_idx" ON "models"("model_json_artifact_id");
CREATE INDEX "models_weights_artifact_id_idx" ON "models"("weights_artifact_id");
