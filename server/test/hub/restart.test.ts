/**
 * A hub restart loses no running server: the hub is killed with SIGKILL (no cleanup at all), started again on the
 * same database, and the server is still reachable through the new hub; a server that died meanwhile is marked
 * stopped. The user's files keep their owner (the user's own uid, recorded in the database) through the kill, the
 * restart, a stop and a start.
 */
import type { ChildProcess } from "node:child_process";
import { statSync } from "node:fs";
import path from "node:path";
import { afterAll, expect, it } from "vitest";
import { openDatabase } from "../../src/store/database.js";
import { issueToken } from "../../src/auth/tokens.js";
import { loadConfig } from "../../src/config/load.js";
import { startHub } from "../../src/hub/start.js";
import { createLogger } from "../../src/lib/logger.js";
import { makeDataDir, request, spawnHubProcess, stopAllServers, waitFor, waitForHealth, writeHubConfigFile } from "../support/hub.js";
import { freePort } from "../support/service-process.js";

const children: ChildProcess[] = [];
let configFile = "";
let baseUrl = "";

afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  // A last hub on the same database stops what the test left running (kernels included), the proper way.
  if (configFile) {
    const hub = await startHub({ ...(await loadConfig({ file: configFile })), hub: { ...(await loadConfig({ file: configFile })).hub, bind: "http://127.0.0.1:0" } }, { logger: createLogger("silent") });
    await stopAllServers(hub);
    await hub.close();
  }
});


async function startHubProcess(configFile: string): Promise<ChildProcess> {
  const child = spawnHubProcess(configFile);
  children.push(child);
  await waitForHealth(baseUrl);
  return child;
}

/** SIGKILLs a server's process group, as if it had crashed while the hub was down. */
async function crashServer(dataDir: string, serverName: string) {
  const db = await openDatabase(`file:${path.join(dataDir, "ganymede.sqlite")}`);
  try {
    const row = await db.prisma.server.findFirstOrThrow({ where: { name: serverName } });
    const state = JSON.parse(row.backendState!) as { backend: { pgid: number } };
    process.kill(-state.backend.pgid, "SIGKILL");
  } finally {
    await db.close();
  }
}

it("keeps a running server reachable across a kill -9 of the hub", async () => {
  const dataDir = makeDataDir();
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  configFile = writeHubConfigFile(dataDir, baseUrl);

  const first = await startHubProcess(configFile);
  const db = await openDatabase(`file:${path.join(dataDir, "ganymede.sqlite")}`);
  const admin = await db.prisma.user.findUniqueOrThrow({ where: { name: "admin" } });
  const token = (await issueToken(db.prisma, admin.id)).token;
  await db.close();

  expect((await request(baseUrl, "POST", "users/admin", { token })).status).toBe(409);
  for (const name of ["survivor", "victim"]) {
    expect([201, 202]).toContain((await request(baseUrl, "POST", `users/admin/servers/${name}`, { token })).status);
    await waitFor(async () => (await request(baseUrl, "GET", "users/admin", { token })).body.servers?.[name]?.ready === true);
  }
  const before = await fetch(`${baseUrl}/user/admin/survivor/api/status`, { headers: { authorization: `token ${token}` } });
  expect(before.status).toBe(200);
  const put = await fetch(`${baseUrl}/user/admin/survivor/api/contents/kept.txt`, {
    method: "PUT",
    headers: { authorization: `token ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ type: "file", format: "text", content: "still mine" }),
  });
  expect(put.status).toBe(201);
  const home = path.join(dataDir, "servers/admin/survivor/home");
  const uid = await adminUid(dataDir);
  const ownership = () => [statSync(home).uid, statSync(home).mode & 0o777, statSync(path.join(home, "kept.txt")).uid];
  expect(ownership()).toEqual([uid, 0o700, uid]);

  first.kill("SIGKILL");
  await new Promise((resolve) => first.once("exit", resolve));
  await expect(fetch(`${baseUrl}/hub/health`, { signal: AbortSignal.timeout(1000) })).rejects.toThrow();
  await crashServer(dataDir, "victim");

  await startHubProcess(configFile);
  const after = await fetch(`${baseUrl}/user/admin/survivor/api/status`, { headers: { authorization: `token ${token}` } });
  expect(after.status).toBe(200);
  // The new hub answers at once from the database; it then checks each server and finds the victim dead.
  const model = async () => (await request(baseUrl, "GET", "users/admin?include_stopped_servers", { token })).body;
  await waitFor(async () => (await model()).servers.victim.stopped === true, 10_000);
  expect((await model()).servers.survivor).toMatchObject({ ready: true, status: "running" });
  expect((await model()).servers.victim).toMatchObject({ ready: false, stopped: true, status: "stopped" });
  const gone = await fetch(`${baseUrl}/user/admin/victim/api/status`, { headers: { authorization: `token ${token}` } });
  expect(gone.status).toBe(503);
  // The audit trail says the hub found it dead and marked it stopped (nobody asked for that stop).
  const foundStopped = async () => (await request(baseUrl, "GET", "audit?actor=hub&action=server.stop", { token })).body.events[0];
  await waitFor(async () => (await foundStopped()) !== undefined, 5000);
  expect(await foundStopped()).toMatchObject({ user: "admin", server: "victim", outcome: "ok", detail: { reason: "not answering when the hub started (it was running)" } });
  expect(ownership()).toEqual([uid, 0o700, uid]);

  // Stop and start through the restarted hub: the same uid, the same files.
  expect([202, 204]).toContain((await request(baseUrl, "DELETE", "users/admin/servers/survivor", { token })).status);
  await waitFor(async () => (await request(baseUrl, "GET", "users/admin?include_stopped_servers", { token })).body.servers?.survivor?.stopped === true);
  expect(ownership()).toEqual([uid, 0o700, uid]);
  expect([201, 202]).toContain((await request(baseUrl, "POST", "users/admin/servers/survivor", { token })).status);
  await waitFor(async () => (await request(baseUrl, "GET", "users/admin", { token })).body.servers?.survivor?.ready === true);
  const file = await fetch(`${baseUrl}/user/admin/survivor/api/contents/kept.txt`, { headers: { authorization: `token ${token}` } });
  expect(await file.json()).toMatchObject({ content: "still mine" });
  expect(await adminUid(dataDir)).toBe(uid);
  expect(ownership()).toEqual([uid, 0o700, uid]);
});

/** The uid the hub recorded for admin's servers. */
async function adminUid(dataDir: string): Promise<number> {
  const db = await openDatabase(`file:${path.join(dataDir, "ganymede.sqlite")}`);
  try {
    return (await db.prisma.unixIdentity.findFirstOrThrow({ where: { user: { name: "admin" } } })).uid;
  } finally {
    await db.close();
  }
}
