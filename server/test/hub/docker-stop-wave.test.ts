/**
 * Stopping many containers at once (issue 10, Docker backend): 60 running servers, all stopped by simultaneous
 * DELETE requests. Every stop must finish without failure, no server may stay "stopping", and no container may be
 * left. The servers run the stand-in server (bench/stand-in-server.py, passed to the image's Python with -c): what
 * is tested is the hub's stop path against a real engine, not Jupyter.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { LABEL_HUB } from "../../src/spawners/docker/naming.js";
import { ensureBaseImage, ensureTestServerImage, removeHubObjects, startDockerEngine, type DockerEngine } from "../support/docker.js";
import { startTestHub, waitFor, type TestHub } from "../support/hub.js";
import { standInServer } from "../support/paths.js";

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
  expect((await t.api("POST", "users", { body: { usernames: users } })).status).toBe(201);
  const queue = [...users];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let user = queue.shift(); user; user = queue.shift()) {
        const res = await t.api("POST", `users/${user}/server`);
        expect([201, 202], JSON.stringify(res.body)).toContain(res.status);
      }
    }),
  );
  await waitFor(async () => (await t.hub.ctx.db.server.count({ where: { status: "running" } })) === SERVERS, 240_000, 500);
  expect((await ours()).filter((c) => c.State === "running")).toHaveLength(SERVERS);
}, 600_000);

afterAll(async () => {
  await t?.close();
  if (engine) expect(await removeHubObjects(engine, prefix, network)).toEqual([]);
});

it("stops every container at once, with no failure, none left stopping and no container left", async () => {
  const answers = await Promise.all(users.map((user) => t.api("DELETE", `users/${user}/server`)));
  expect(answers.filter((a) => a.status !== 202 && a.status !== 204).map((a) => a.body)).toEqual([]);
  const db = t.hub.ctx.db;
  await waitFor(async () => (await db.server.count({ where: { status: "stopped" } })) === SERVERS, 240_000, 500);
  const rows = await db.server.findMany({ where: { user: { name: { in: users } } } });
  expect(rows.filter((r) => r.status !== "stopped" || r.lastError !== null).map((r) => [r.status, r.lastError])).toEqual([]);
  expect(await ours()).toEqual([]);
  expect(await t.hub.ctx.metrics.registry.getSingleMetricAsString("ganymede_stop_failures_total")).toMatch(/ganymede_stop_failures_total 0$/m);
}, 300_000);
