-- A finished job's loss history downsampled (LTTB) to a number of points the dashboard asks for,
-- kept so that an API process with an empty cache (a restart, another replica) answers the run page
-- of a long run with one row instead of reading and downsampling every chunk of its history. Written
-- when the job finishes or on the first read of one without it; removed with the job, and by any
-- later write of the job's steps (src/store/jobs/step-history.ts), so it never outlives its history.
CREATE TABLE "history_samples" (
    "job_id" UUID NOT NULL,
    "points" INTEGER NOT NULL,
    -- Steps recorded when it was computed.
    "total_steps" INTEGER NOT NULL,
    "steps" INTEGER[] NOT NULL,
    "epochs" INTEGER[] NOT NULL,
    "losses" DOUBLE PRECISION[] NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),

    CONSTRAINT "history_samples_pkey" PRIMARY KEY ("job_id", "points"),
    CONSTRAINT "history_samples_lengths" CHECK (
        cardinality("steps") = cardinality("epochs") AND cardinality("steps") = cardinality("losses")
        AND cardinality("steps") <= "points" AND cardinality("steps") < "total_steps")
);

ALTER TABLE "history_samples" ADD CONSTRAINT "history_samples_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
