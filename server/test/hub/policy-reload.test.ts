/**
 * A policy file that breaks while the hub runs never takes it down: the hub keeps the last good policies, keeps
 * deciding with them, and says why (health, /hub/api/info). A fixed file is picked up again.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, expect, it } from "vitest";
import { startTestHub, waitFor, type TestHub } from "../support/hub.js";

let t: TestHub | undefined;

afterAll(async () => {
  await t?.close();
});

const GROUP = (named: number | string) => `name: power
appliesTo: { groups: [power] }
limits: { namedServers: ${named} }
`;

it("keeps the last good policies when a file breaks, and reloads when it is fixed", async () => {
  t = await startTestHub({ policies: { "power.yaml": GROUP(7) }, config: { policies: { reloadInterval: "200ms" } } });
  const file = path.join(t.dataDir, "policies", "power.yaml");
  const limitOf = async () => (await t!.api("GET", "info")).body.policies;
  expect((await limitOf()).active).toEqual(["default", "power"]);

  writeFileSync(file, GROUP('"lots"'));
  await waitFor(async () => (await limitOf()).lastError !== undefined, 10_000);
  const status = await limitOf();
  expect(status.lastError.message).toMatch(/not reloaded.*previous policies stay in force/);
  expect(status.lastError.problems.join("\n")).toMatch(/power\.yaml.*namedServers/);
  expect(status.active).toEqual(["default", "power"]);
  expect(await (await fetch(`${t.url}/hub/health`)).json()).toMatchObject({ status: "ok", policies: "degraded" });

  // Decisions still use the last good set: the power group keeps its 7 named servers.
  await t.addUser("pia", { groups: ["power"] });
  const explained = t.hub.ctx.policy.limitsFor({ name: "pia", groups: ["power"] });
  expect(explained.namedServers).toBe(7);

  writeFileSync(file, GROUP(3));
  await waitFor(async () => (await limitOf()).lastError === undefined, 10_000);
  expect(t.hub.ctx.policy.limitsFor({ name: "pia", groups: ["power"] }).namedServers).toBe(3);
});
