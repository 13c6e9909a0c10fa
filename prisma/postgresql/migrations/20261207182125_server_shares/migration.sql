-- CreateTable
CREATE TABLE "ServerShare" (
    "id" SERIAL NOT NULL,
    "serverId" INTEGER NOT NULL,
    "kind" TEXT NOT NULL,
    "target" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ServerShare_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ServerShare_kind_target_idx" ON "ServerShare"("kind", "target");

-- CreateIndex
CREATE UNIQUE INDEX "ServerShare_serverId_kind_target_key" ON "ServerShare"("serverId", "kind", "target");

-- AddForeignKey
ALTER TABLE "ServerShare" ADD CONSTRAINT "ServerShare_serverId_fkey" FOREIGN KEY ("serverId") REFERENCES "Server"("id") ON DELETE CASCADE ON UPDATE CASCADE;
