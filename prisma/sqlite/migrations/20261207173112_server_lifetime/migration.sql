-- AlterTable
ALTER TABLE "Server" ADD COLUMN "deadline" DATETIME;
ALTER TABLE "Server" ADD COLUMN "stopReason" TEXT;
ALTER TABLE "Server" ADD COLUMN "stoppedAt" DATETIME;
