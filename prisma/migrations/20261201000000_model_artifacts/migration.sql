-- CreateEnum
CREATE TYPE "ModelVersion" AS ENUM ('final', 'best');

-- CreateTable
CREATE TABLE "artifacts" (
    "id" UUID NOT NULL,
    "sha256" TEXT NOT NULL,
    "bytes" BIGINT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "artifacts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "artifact_chunks" (
    "artifact_id" UUID NOT NULL,
    "seq" INTEGER NOT NULL,
    "data" BYTEA NOT NULL,

    CONSTRAINT "artifact_chunks_pkey" PRIMARY KEY ("artifact_id","seq")
);

-- CreateTable
CREATE TABLE "models" (
    "job_id" UUID NOT NULL,
    "version" "ModelVersion" NOT NULL,
    "epoch" INTEGER NOT NULL,
    "model_json_artifact_id" UUID NOT NULL,
    "weights_artifact_id" UUID NOT NULL,
    "tfjs_version" TEXT NOT NULL,
    "input_shape" INTEGER[],
    "scale" DOUBLE PRECISION NOT NULL,
    "mean" DOUBLE PRECISION NOT NULL,
    "std" DOUBLE PRECISION NOT NULL,
    "class_count" INTEGER NOT NULL,
    "class_names" JSONB,
    "test_accuracy" DOUBLE PRECISION,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "models_pkey" PRIMARY KEY ("job_id","version")
);

-- AddForeignKey
ALTER TABLE "artifact_chunks" ADD CONSTRAINT "artifact_chunks_artifact_id_fkey" FOREIGN KEY ("artifact_id") REFERENCES "artifacts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "models" ADD CONSTRAINT "models_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- A model row owns its artifacts: when it is deleted (also by the cascade from its job) or pointed at
-- new ones, the artifacts no model row refers to any more go too. Final and best may share artifacts.
CREATE FUNCTION "models_release_artifacts"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM "artifacts" AS a
    WHERE a."id" IN (OLD."model_json_artifact_id", OLD."weights_artifact_id")
      AND NOT EXISTS (
          SELECT 1 FROM "models" AS m
          WHERE a."id" IN (m."model_json_artifact_id", m."weights_artifact_id")
      );
    RETURN NULL;
END
$$;

CREATE TRIGGER "models_release_artifacts"
AFTER DELETE OR UPDATE OF "model_json_artifact_id", "weights_artifact_id" ON "models"
FOR EACH ROW EXECUTE FUNCTION "models_release_artifacts"();
