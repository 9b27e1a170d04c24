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
