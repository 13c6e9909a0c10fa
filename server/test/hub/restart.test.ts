/**
 * A hub restart loses no running server: the hub is killed with SIGKILL (no cleanup at all), started again on the
 * same database, and the server is still reachable through the new hub; a server that died meanwhile is marked
 * stopped.
 */
import type { ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import YAML from "yaml";
import { afterAll, expect, it } from "vitest";
import { openDatabase } from "../../src/store/database.js";
import { issueToken } from "../../src/auth/tokens.js";
import { makeDataDir, request, spawnHubProcess, waitFor } from "../support/hub.js";
import { jupyterCommand, repoRoot } from "../support/paths.js";

const children: ChildProcess[] = [];
let dataDir = "";
let baseUrl = "";

afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  // Stop whatever the test left running through a last hub instance's API would need a hub; kill by process group.
  if (dataDir) await killServersOf(dataDir);
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

async function startHubProcess(configFile: string): Promise<ChildProcess> {
  const child = spawnHubProcess(configFile);
  children.push(child);
  await waitFor(async () => {
    try {
      return (await fetch(`${baseUrl}/hub/health`, { signal: AbortSignal.timeout(1000) })).status === 200;
    } catch {
      return false;
    }
  }, 30_000, 200);
  return child;
}

async function killServersOf(dir: string) {
  const db = await openDatabase(`file:${path.join(dir, "ganymede.sqlite")}`);
  try {
    for (const row of await db.prisma.server.findMany()) {
      const state = row.backendState ? (JSON.parse(row.backendState) as { backend?: { pgid?: number; pid?: number } }) : {};
      const pgid = state.backend?.pgid ?? state.backend?.pid;
      if (pgid) {
        try {
          process.kill(-pgid, "SIGKILL");
        } catch {
          /* already gone */
        }
      }
    }
  } finally {
    await db.close();
  }
}

it("keeps a running server reachable across a kill -9 of the hub", async () => {
  dataDir = makeDataDir();
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  const configFile = path.join(dataDir, "ganymede.yaml");
  writeFileSync(
    configFile,
    YAML.stringify({
      hub: { bind: baseUrl, dataDir },
      policies: { dir: path.join(repoRoot, "policies") },
      spawner: { local: { command: jupyterCommand, storage: "directory" } },
      culler: { enabled: false },
    }),
  );

  const first = await startHubProcess(configFile);
  const db = await openDatabase(`file:${path.join(dataDir, "ganymede.sqlite")}`);
  const admin = await db.prisma.user.findUniqueOrThrow({ where: { name: "admin" } });
  const token = (await issueToken(db.prisma, admin.id)).token;
  await db.close();

  expect((await request(baseUrl, "POST", "users/admin", { token })).status).toBe(409);
  const started = await request(baseUrl, "POST", "users/admin/servers/survivor", { token });
  expect([201, 202]).toContain(started.status);
  await waitFor(async () => (await request(baseUrl, "GET", "users/admin", { token })).body.servers?.survivor?.ready === true);
  const before = await fetch(`${baseUrl}/user/admin/survivor/api/status`, { headers: { authorization: `token ${token}` } });
  expect(before.status).toBe(200);

  first.kill("SIGKILL");
  await new Promise((resolve) => first.once("exit", resolve));
  await expect(fetch(`${baseUrl}/hub/health`, { signal: AbortSignal.timeout(1000) })).rejects.toThrow();

  await startHubProcess(configFile);
  const after = await fetch(`${baseUrl}/user/admin/survivor/api/status`, { headers: { authorization: `token ${token}` } });
  expect(after.status).toBe(200);
  const model = await request(baseUrl, "GET", "users/admin", { token });
  expect(model.body.servers.survivor).toMatchObject({ ready: true, status: "running" });
});
