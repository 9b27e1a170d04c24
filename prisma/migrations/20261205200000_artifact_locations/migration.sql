-- Where each artifact's bytes are: 'postgres' (its artifact_chunks rows, as before) or the URL of an
-- object in an S3-compatible store (s3://bucket/key). Every existing artifact is in Postgres.
ALTER TABLE "artifacts" ADD COLUMN "location" TEXT NOT NULL DEFAULT 'postgres';

-- The outbox of objects to delete from object storage. A trigger cannot reach S3, so the triggers that
-- release artifacts (with their model, dataset or checkpoint rows) leave the object's location here,
-- in the same transaction, and the API and the workers delete the objects afterwards
-- (src/store/artifacts/artifact-deletions.ts). A put in flight also parks its object here with a
-- `not_before` in the future, so an upload whose process dies before its row commits is not kept.
CREATE TABLE "artifact_deletions" (
    "location" TEXT NOT NULL,
    "not_before" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),

    CONSTRAINT "artifact_deletions_pkey" PRIMARY KEY ("location")
);
CREATE INDEX "artifact_deletions_not_before_idx" ON "artifact_deletions"("not_before");

-- An artifact stored outside Postgres leaves its object to delete when its row goes, or when the row
-- is pointed elsewhere (moved by `npm run artifacts:migrate`).
CREATE FUNCTION "artifacts_record_deletion"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD."location" <> 'postgres' AND (TG_OP = 'DELETE' OR NEW."location" IS DISTINCT FROM OLD."location") THEN
        INSERT INTO "artifact_deletions" ("location") VALUES (OLD."location")
        ON CONFLICT ("location") DO UPDATE SET "not_before" = LEAST("artifact_deletions"."not_before", now());
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER "artifacts_record_deletion"
AFTER DELETE OR UPDATE OF "location" ON "artifacts"
FOR EACH ROW EXECUTE FUNCTION "artifacts_record_deletion"();
