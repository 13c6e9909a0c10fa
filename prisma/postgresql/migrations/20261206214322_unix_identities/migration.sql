-- CreateTable
CREATE TABLE "UnixIdentity" (
    "uid" INTEGER NOT NULL,
    "userId" INTEGER,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "UnixIdentity_pkey" PRIMARY KEY ("uid")
);

-- CreateIndex
CREATE UNIQUE INDEX "UnixIdentity_userId_key" ON "UnixIdentity"("userId");

-- AddForeignKey
ALTER TABLE "UnixIdentity" ADD CONSTRAINT "UnixIdentity_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;
