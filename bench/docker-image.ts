/**
 * Prepares the Docker engine for `BENCH_BACKEND=docker bench/run.sh stops` and prints the server image to run: the
 * engine the tests use (started when none answers), their base image and their Jupyter server image
 * (server/test/support/docker.ts). The engine stays up while the process named by GANYMEDE_SERVICES_OWNER (the
 * benchmark) lives, then stops, as after a test run.
 *
 *   cd server && GANYMEDE_SERVICES_OWNER=<pid> node --import tsx ../bench/docker-image.ts
 */
import { ensureBaseImage, ensureTestServerImage, startDockerEngine } from "../server/test/support/docker.js";

const engine = await startDockerEngine();
await ensureBaseImage(engine);
process.stdout.write(`${await ensureTestServerImage(engine)}\n`);
