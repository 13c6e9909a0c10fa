-- AlterTable
ALTER TABLE "Server" ADD COLUMN     "deadline" TIMESTAMP(3),
ADD COLUMN     "stopReason" TEXT,
ADD COLUMN     "stoppedAt" TIMESTAMP(3);
