-- AlterTable
ALTER TABLE "jobs" ADD COLUMN     "best_test_accuracy" DOUBLE PRECISION,
ADD COLUMN     "cancel_requested_at" TIMESTAMPTZ(3),
ADD COLUMN     "duration_ms" INTEGER,
ADD COLUMN     "final_test_accuracy" DOUBLE PRECISION,
ADD COLUMN     "final_test_loss" DOUBLE PRECISION,
ADD COLUMN     "tags" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- CreateIndex
CREATE INDEX "jobs_tags_idx" ON "jobs" USING GIN ("tags");
