-- Validation split: per-epoch validation metrics, and on the job the final ones and the best epoch.
ALTER TABLE "epoch_metrics" ADD COLUMN "validation_accuracy" DOUBLE PRECISION,
ADD COLUMN "validation_loss" DOUBLE PRECISION;

ALTER TABLE "jobs" ADD COLUMN "final_validation_accuracy" DOUBLE PRECISION,
ADD COLUMN "final_validation_loss" DOUBLE PRECISION,
ADD COLUMN "best_validation_accuracy" DOUBLE PRECISION,
ADD COLUMN "best_epoch" INTEGER,
-- Early stopping: the last epoch trained and why the rule stopped there.
ADD COLUMN "stopped_early_epoch" INTEGER,
ADD COLUMN "stopped_early_reason" TEXT;

-- Sweeps: a sweep's spec and state; its runs are ordinary jobs linked by sweep_id, one per index.
CREATE TYPE "SweepStatus" AS ENUM ('running', 'completed', 'cancelled');

CREATE TABLE "sweeps" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "spec" JSONB NOT NULL,
    "status" "SweepStatus" NOT NULL DEFAULT 'running',
    "run_count" INTEGER NOT NULL,
    "lease_owner" UUID,
    "lease_expires_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "sweeps_pkey" PRIMARY KEY ("id")
);

CREATE INDEX "sweeps_created_at_idx" ON "sweeps"("created_at");

ALTER TABLE "jobs" ADD COLUMN "sweep_id" UUID,
ADD COLUMN "sweep_index" INTEGER,
-- Why a cancel was asked for, when something other than a person asked (a sweep's stopping rule).
ADD COLUMN "cancel_reason" TEXT;

-- A run's index within its sweep is unique: a restarted driver can never launch it twice.
CREATE UNIQUE INDEX "jobs_sweep_id_sweep_index_key" ON "jobs"("sweep_id", "sweep_index");

ALTER TABLE "jobs" ADD CONSTRAINT "jobs_sweep_id_fkey" FOREIGN KEY ("sweep_id") REFERENCES "sweeps"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- Every early-termination decision, once per (run, epoch): a rung is never decided twice.
CREATE TABLE "sweep_decisions" (
    "job_id" UUID NOT NULL,
    "epoch" INTEGER NOT NULL,
    "sweep_id" UUID NOT NULL,
    "rule" TEXT NOT NULL,
    "value" DOUBLE PRECISION NOT NULL,
    "stop" BOOLEAN NOT NULL,
    "reason" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sweep_decisions_pkey" PRIMARY KEY ("job_id","epoch")
);

CREATE INDEX "sweep_decisions_sweep_id_epoch_idx" ON "sweep_decisions"("sweep_id", "epoch");

ALTER TABLE "sweep_decisions" ADD CONSTRAINT "sweep_decisions_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "sweep_decisions" ADD CONSTRAINT "sweep_decisions_sweep_id_fkey" FOREIGN KEY ("sweep_id") REFERENCES "sweeps"("id") ON DELETE CASCADE ON UPDATE CASCADE;
