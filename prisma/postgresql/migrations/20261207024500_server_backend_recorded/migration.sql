-- Server.backend was never written: every row says "local". From now on it records the backend that made the
-- server. Rows the Docker backend made are recognised by their state, which names a container.
UPDATE "Server" SET "backend" = 'docker' WHERE "backendState" LIKE '%"containerId"%';
