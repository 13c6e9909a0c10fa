-- What each server was last started with: its launch specification, resolved once per start from the request and
-- the policy decision, and handed unchanged to the backend.
ALTER TABLE "Server" ADD COLUMN "launch" TEXT;
