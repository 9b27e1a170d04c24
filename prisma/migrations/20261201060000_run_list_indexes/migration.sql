-- Run lists (src/store/jobs/run-listing.ts) read a page in index order, whatever the number of runs.

-- Newest first, ties by id, as the cursor pages them.
DROP INDEX IF EXISTS "jobs_created_at_idx";
CREATE INDEX "jobs_created_at_id_idx" ON "jobs"("created_at", "id");

-- The accuracy and duration sorts: exactly the expressions the list orders by (unfinished runs as -1).
CREATE INDEX "jobs_final_accuracy_sort_idx" ON "jobs"((COALESCE("final_test_accuracy", -1)), "id");
CREATE INDEX "jobs_best_accuracy_sort_idx" ON "jobs"((COALESCE("best_test_accuracy", -1)), "id");
CREATE INDEX "jobs_duration_sort_idx" ON "jobs"((COALESCE("duration_ms", -1)::float8), "id");

-- "Name contains" (ILIKE '%...%') through trigrams.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX "jobs_name_trgm_idx" ON "jobs" USING GIN ("name" gin_trgm_ops);
