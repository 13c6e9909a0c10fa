-- CreateTable
CREATE TABLE "ServerShare" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "serverId" INTEGER NOT NULL,
    "kind" TEXT NOT NULL,
    "target" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "ServerShare_serverId_fkey" FOREIGN KEY ("serverId") REFERENCES "Server" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "ServerShare_kind_target_idx" ON "ServerShare"("kind", "target");

-- CreateIndex
CREATE UNIQUE INDEX "ServerShare_serverId_kind_target_key" ON "ServerShare"("serverId", "kind", "target");
