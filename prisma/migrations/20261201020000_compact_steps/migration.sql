-- Loss histories in chunks of consecutive steps of one epoch, one row per chunk instead of one per
-- step: 100,000 steps take about 4.5 bytes each instead of about 100. Losses that are all exactly
-- float32 (what training produces) are stored as real[], any other chunk as double precision[], so
-- every value reads back exactly as it was written. A chunk stays under Postgres's TOAST threshold
-- (about 2 kB), so it is read with its row.
CREATE TABLE "step_chunks" (
    "job_id" UUID NOT NULL,
    "first_step" INTEGER NOT NULL,
    "epoch" INTEGER NOT NULL,
    "losses_f32" REAL[],
    "losses_f64" DOUBLE PRECISION[],
    "step_count" INTEGER NOT NULL GENERATED ALWAYS AS (COALESCE(cardinality("losses_f32"), cardinality("losses_f64"))) STORED,

    CONSTRAINT "step_chunks_pkey" PRIMARY KEY ("job_id", "first_step"),
    CONSTRAINT "step_chunks_one_format" CHECK (("losses_f32" IS NULL) <> ("losses_f64" IS NULL)),
    -- Readers find the chunks overlapping a range of steps by this bound (src/store/jobs/step-chunks.ts).
    CONSTRAINT "step_chunks_size" CHECK ("step_count" BETWEEN 1 AND 480)
);

ALTER TABLE "step_chunks" ADD CONSTRAINT "step_chunks_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Existing steps, converted in place: runs of consecutive steps of one epoch, cut every 240 steps.
INSERT INTO "step_chunks" ("job_id", "first_step", "epoch", "losses_f32", "losses_f64")
SELECT "job_id", min("step"), "epoch",
       -- (An aggregate is computed whatever the CASE around it says: the cast is guarded inside.)
       CASE WHEN bool_and("narrow") THEN array_agg(CASE WHEN "narrow" THEN "loss"::real END ORDER BY "step") END,
       CASE WHEN NOT bool_and("narrow") THEN array_agg("loss" ORDER BY "step") END
FROM (
    SELECT "job_id", "step", "epoch", "loss", "run",
           (row_number() OVER (PARTITION BY "job_id", "epoch", "run" ORDER BY "step") - 1) / 240 AS "piece",
           -- Exactly a float32 (the guard keeps the cast from raising on overflow or underflow).
           CASE WHEN "loss" = 0 OR abs("loss") BETWEEN 1.5e-45 AND 3.4028234663852886e38
                THEN "loss"::real::double precision = "loss" ELSE false END AS "narrow"
    FROM (
        SELECT "job_id", "step", "epoch", "loss",
               "step" - row_number() OVER (PARTITION BY "job_id", "epoch" ORDER BY "step") AS "run"
        FROM "step_losses"
    ) AS "numbered"
) AS "pieces"
GROUP BY "job_id", "epoch", "run", "piece";

DROP TABLE "step_losses";

-- Every step as a row, as the table used to hold them: for reading by hand and by tests. Read-only.
CREATE VIEW "step_losses" AS
SELECT c."job_id", (c."first_step" + s."offset" - 1)::integer AS "step", c."epoch", s."loss"
FROM "step_chunks" AS c
CROSS JOIN LATERAL unnest(COALESCE(c."losses_f64", c."losses_f32"::double precision[])) WITH ORDINALITY AS s("loss", "offset");
