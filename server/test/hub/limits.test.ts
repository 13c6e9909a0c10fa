/**
 * Policy limits reach the operating system: a group override raises memory for one user, the local spawner writes
 * it into the server's cgroup, storage is a 2 GiB loop-mounted volume, and the API reports all of it.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { readEvents, startTestHub, type TestHub } from "../support/hub.js";

const RESEARCH = `name: research
description: more memory for the research group
appliesTo: { groups: [research] }
limits:
  memory: 4GB
  namedServers: 6
`;

let t: TestHub;

beforeAll(async () => {
  t = await startTestHub({
    policies: { "research.yaml": RESEARCH },
    config: { spawner: { local: { storage: "loop", cgroups: "auto" } } },
  });
});

afterAll(async () => {
  await t?.close();
});

it("enforces a group's policy through cgroups and a size-limited volume", async () => {
  const token = await t.addUser("rita", { groups: ["research"] });
  expect([201, 202]).toContain((await t.api("POST", "users/rita/server", { token })).status);
  const events = await readEvents(t.url, "/hub/api/users/rita/server/progress", token);
  expect(events.at(-1)).toMatchObject({ ready: true });

  const model = (await t.api("GET", "users/rita", { token })).body;
  const server = model.servers[""];
  expect(model.groups).toEqual(["research"]);
  expect(server.limits).toMatchObject({ cpu: 1, memory_bytes: 4e9, memory: "4 GB", storage_bytes: 2 * 1024 ** 3, storage: "2 GiB", idle_timeout: "2h" });
  expect(server.enforcement.memory.enforced).toBe(true);
  expect(server.enforcement.cpu.enforced).toBe(true);
  expect(server.enforcement.storage.enforced).toBe(true);
  expect(typeof server.storage_used_bytes).toBe("number");

  const row = await t.hub.ctx.db.server.findFirstOrThrow({ where: { name: "", user: { name: "rita" } } });
  const state = JSON.parse(row.backendState!).backend as { cgroup: { version: number; dirs: string[] }; paths: { workdir: string } };
  const memoryDir = state.cgroup.dirs.find((d) => d.includes("memory")) ?? state.cgroup.dirs[0]!;
  const memoryFile = state.cgroup.version === 2 ? path.join(memoryDir, "memory.max") : path.join(memoryDir, "memory.limit_in_bytes");
  const written = Number(readFileSync(memoryFile, "utf8").trim());
  expect(Math.abs(written - 4e9)).toBeLessThan(4096); // the kernel rounds down to a page

  const size = Number(execFileSync("df", ["-B1", "--output=size", state.paths.workdir], { encoding: "utf8" }).split("\n")[1]);
  expect(size).toBeGreaterThan(1.9 * 1024 ** 3);
  expect(size).toBeLessThanOrEqual(2 * 1024 ** 3);

  // Someone outside the group keeps the defaults.
  const other = await t.addUser("otto");
  const otherModel = await t.api("POST", "users/otto/servers/small", { token: other });
  expect([201, 202]).toContain(otherModel.status);
  await readEvents(t.url, "/hub/api/users/otto/servers/small/progress", other);
  const small = (await t.api("GET", "users/otto", { token: other })).body.servers.small;
  expect(small.limits).toMatchObject({ memory_bytes: 2e9, memory: "2 GB" });
});
