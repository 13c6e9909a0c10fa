/**
 * A stand-in hub process for tests: starts one server with the local spawner, prints `state()` as one JSON line on
 * stdout, then idles until it is killed (the test kills it with SIGKILL to check the server outlives its hub).
 *
 * argv[2]: JSON of { options: LocalSpawnerOptions (without `uids`: a test allocator is used), identity, ctx }
 */
import { createLocalSpawnerFactory, type LocalSpawnerOptions } from "../../src/spawners/local/index.js";
import type { ServerIdentity, SpawnContext } from "../../src/spawners/types.js";
import { memoryUids } from "./uids.js";

const { options, identity, ctx } = JSON.parse(process.argv[2] ?? "{}") as {
  options: LocalSpawnerOptions;
  identity: ServerIdentity;
  ctx: SpawnContext;
};
const spawner = createLocalSpawnerFactory({ ...options, uids: memoryUids() }).create(identity);
const endpoint = await spawner.start(ctx, new AbortController().signal, () => {});
process.stdout.write(JSON.stringify({ endpoint, state: spawner.state() }) + "\n");
setInterval(() => {}, 60_000);
