-- Uploaded datasets: their description and statistics here, their examples in one artifact each.
CREATE TABLE "datasets" (
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "format" TEXT NOT NULL,
    "input_shape" INTEGER[],
    "class_count" INTEGER NOT NULL,
    "class_names" JSONB,
    "train_size" INTEGER NOT NULL,
    "test_size" INTEGER NOT NULL,
    "train_class_counts" INTEGER[],
    "test_class_counts" INTEGER[],
    "feature_type" TEXT NOT NULL,
    "scale" DOUBLE PRECISION NOT NULL,
    "mean" DOUBLE PRECISION NOT NULL,
    "std" DOUBLE PRECISION NOT NULL,
    "feature_min" DOUBLE PRECISION NOT NULL,
    "feature_max" DOUBLE PRECISION NOT NULL,
    "artifact_id" UUID NOT NULL,
    "sha256" TEXT NOT NULL,
    "bytes" BIGINT NOT NULL,
    "upload_bytes" BIGINT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "datasets_pkey" PRIMARY KEY ("name")
);

-- A dataset row owns its artifact: deleting the row deletes the bytes in the same transaction.
CREATE FUNCTION "datasets_release_artifact"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM "artifacts" WHERE "id" = OLD."artifact_id";
    RETURN NULL;
END
$$;

CREATE TRIGGER "datasets_release_artifact"
AFTER DELETE ON "datasets"
FOR EACH ROW EXECUTE FUNCTION "datasets_release_artifact"();

-- The dataset's input shape at submission, so a job's architecture reads without its dataset
-- (an uploaded one may be deleted later). Empty on older rows, which all name a bundled dataset.
ALTER TABLE "jobs" ADD COLUMN "input_shape" INTEGER[] NOT NULL DEFAULT ARRAY[]::INTEGER[];
