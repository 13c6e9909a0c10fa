/**
 * Stopping many containers at once (issue 10, Docker backend): 60 running servers, all stopped by simultaneous
 * DELETE requests (the spawner contract's stop wave, support/stop-wave.ts). Every stop must finish without failure, no server may stay "stopping", and no container may be
 * left. The servers run the stand-in server (bench/stand-in-server.py, passed to the image's Python with -c): what
 * is tested is the hub's stop path against a real engine, not Jupyter.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { LABEL_HUB } from "../../src/spawners/docker/naming.js";
import { ensureBaseImage, ensureTestServerImage, removeHubObjects, startDockerEngine, type DockerEngine } from "../support/docker.js";
import { startTestHub, type TestHub } from "../support/hub.js";
import { standInServer } from "../support/paths.js";
import { expectStopWave, startServersOf } from "../support/stop-wave.js";

const SERVERS = 60;
const users = Array.from({ length: SERVERS }, (_, i) => `dwave${String(i).padStart(2, "0")}`);
const prefix = `gdw-${randomBytes(3).toString("hex")}`;
const network = `${prefix}-net`;
let engine: DockerEngine;
let t: TestHub;

const ours = async () => engine.docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABEL_HUB}=${prefix}`] }) });

beforeAll(async () => {
  engine = await startDockerEngine();
  await ensureBaseImage(engine);
  const image = await ensureTestServerImage(engine);
  const standIn = readFileSync(standInServer[1]!, "utf8");
  t = await startTestHub({
    config: {
      spawner: {
        backend: "docker",
        startTimeout: "120s",
        stopGrace: "2s",
        docker: { image, command: ["python3", "-c", standIn], namePrefix: prefix, network, storage: "volume" },
      },
    },
  });
  await startServersOf(t, users, { concurrency: 8, timeoutMs: 240_000 });
  expect((await ours()).filter((c) => c.State === "running")).toHaveLength(SERVERS);
}, 600_000);

afterAll(async () => {
  await t?.close();
  if (engine) expect(await removeHubObjects(engine, prefix, network)).toEqual([]);
});

it("stops every container at once, with no failure, none left stopping and no container left", async () => {
  await expectStopWave(t, users, ours, { timeoutMs: 240_000 });
}, 300_000);
