-- Checkpoints a run keeps after it ends, one per finished epoch within the retention setting
-- (the last N epochs and the best), so a run can be continued or forked from any kept epoch. The
-- tensors live in the artifact store; the row holds their layout and where training stood.
CREATE TABLE "kept_checkpoints" (
    "job_id" UUID NOT NULL,
    "epoch" INTEGER NOT NULL,
    "step" INTEGER NOT NULL,
    "artifact_id" UUID NOT NULL,
    "bytes" BIGINT NOT NULL,
    -- Shuffle state, loss sum and the layout of the artifact's tensors (src/worker/checkpoint-codec.ts).
    "state" JSONB NOT NULL,
    -- What the best epoch is chosen by: validation accuracy with a validation split, else test accuracy.
    "score" DOUBLE PRECISION,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),

    CONSTRAINT "kept_checkpoints_pkey" PRIMARY KEY ("job_id", "epoch")
);
ALTER TABLE "kept_checkpoints" ADD CONSTRAINT "kept_checkpoints_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
CREATE INDEX "kept_checkpoints_artifact_id_idx" ON "kept_checkpoints"("artifact_id");

-- A job forked from another: where it starts. The parent is not a foreign key: deleting a parent
-- keeps its children, whose lineage then ends at the fork point. `artifact_id` pins the checkpoint
-- the child starts from (it outlives the parent's row and its retention) until the child has kept a
-- checkpoint of its own or ended; then it is set to null.
CREATE TABLE "job_forks" (
    "job_id" UUID NOT NULL,
    "parent_job_id" UUID NOT NULL,
    "parent_epoch" INTEGER NOT NULL,
    "parent_step" INTEGER NOT NULL,
    "optimizer_state" BOOLEAN NOT NULL,
    "data_order" BOOLEAN NOT NULL,
    "artifact_id" UUID,
    "state" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),

    CONSTRAINT "job_forks_pkey" PRIMARY KEY ("job_id")
);
ALTER TABLE "job_forks" ADD CONSTRAINT "job_forks_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
CREATE INDEX "job_forks_parent_job_id_idx" ON "job_forks"("parent_job_id");
CREATE INDEX "job_forks_artifact_id_idx" ON "job_forks"("artifact_id");

-- A checkpoint's artifact goes once neither a kept checkpoint nor a fork's pin refers to it: when a
-- row is deleted (also by the cascade from its job, or by retention) or lets go of its artifact.
CREATE FUNCTION "checkpoints_release_artifact"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD."artifact_id" IS NOT NULL THEN
        DELETE FROM "artifacts" AS a
        WHERE a."id" = OLD."artifact_id"
          AND NOT EXISTS (SELECT 1 FROM "kept_checkpoints" k WHERE k."artifact_id" = a."id")
          AND NOT EXISTS (SELECT 1 FROM "job_forks" f WHERE f."artifact_id" = a."id");
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER "kept_checkpoints_release_artifact"
AFTER DELETE OR UPDATE OF "artifact_id" ON "kept_checkpoints"
FOR EACH ROW EXECUTE FUNCTION "checkpoints_release_artifact"();

CREATE TRIGGER "job_forks_release_artifact"
AFTER DELETE OR UPDATE OF "artifact_id" ON "job_forks"
FOR EACH ROW EXECUTE FUNCTION "checkpoints_release_artifact"();
