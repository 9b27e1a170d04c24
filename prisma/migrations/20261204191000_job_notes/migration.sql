-- What a run says about itself after it was submitted (PATCH /jobs/:id): notes in markdown and a pin.
ALTER TABLE "jobs" ADD COLUMN "notes" TEXT;
ALTER TABLE "jobs" ADD COLUMN "pinned" BOOLEAN NOT NULL DEFAULT false;
-- Pinned runs are few: a partial index lists them in creation order without walking every run.
CREATE INDEX "jobs_pinned_created_at_id_idx" ON "jobs"("created_at", "id") WHERE "pinned";
