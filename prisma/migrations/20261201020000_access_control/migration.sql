-- Every job belongs to an owner: the owner of the API key that submitted it. Jobs from before
-- access control, and every job submitted with AUTH=off, belong to "local".
ALTER TABLE "jobs" ADD COLUMN "owner" TEXT NOT NULL DEFAULT 'local';

-- Listing an owner's runs and counting its queued and running jobs.
CREATE INDEX "jobs_owner_status_idx" ON "jobs"("owner", "status");

-- CreateEnum
CREATE TYPE "ApiKeyRole" AS ENUM ('viewer', 'member', 'admin');

-- API keys: only a SHA-256 hash of each key is stored; the key itself is shown once, at creation.
CREATE TABLE "api_keys" (
    "id" UUID NOT NULL,
    "owner" TEXT NOT NULL,
    "role" "ApiKeyRole" NOT NULL,
    "name" TEXT NOT NULL,
    "key_hash" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "api_keys_key_hash_key" ON "api_keys"("key_hash");
