-- Every sweep belongs to an owner: the owner of the API key that created it, whose jobs its runs
-- are. Sweeps from before were created by admins (or with AUTH=off) and launched their runs as
-- "local" jobs, so they belong to "local", as those runs do.
ALTER TABLE "sweeps" ADD COLUMN "owner" TEXT NOT NULL DEFAULT 'local';

-- Listing an owner's sweeps, newest first, a page at a time.
CREATE INDEX "sweeps_owner_created_at_idx" ON "sweeps"("owner", "created_at");
