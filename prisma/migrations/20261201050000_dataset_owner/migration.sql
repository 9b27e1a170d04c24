-- Every uploaded dataset belongs to an owner: the owner of the API key that uploaded it. Datasets
-- from before, and every one uploaded with AUTH=off, belong to "local".
ALTER TABLE "datasets" ADD COLUMN "owner" TEXT NOT NULL DEFAULT 'local';

-- Listing an owner's datasets and summing its stored bytes.
CREATE INDEX "datasets_owner_idx" ON "datasets"("owner");
