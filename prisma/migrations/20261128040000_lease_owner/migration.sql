-- AlterTable
ALTER TABLE "jobs" ADD COLUMN     "lease_owner" UUID;
