/** Temp policy folders for the policy tests: each test writes the files it needs and gets the folder back. */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach } from "vitest";
import { policySetFromObjects, type PolicySet } from "../../src/policy/index.js";

/** The shipped defaults (policies/default.yaml), as a document. */
export const DEFAULT_POLICY = `
name: default
appliesTo: { default: true }
limits:
  namedServers: 5
  serverNameMaxLength: 20
  idleTimeout: 2h
  storage: 2GiB
  cpu: 1
  memory: 2GB
  concurrentBuilds: 2
  buildTimeout: 30m
`;

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** A fresh folder holding `files` (name → YAML text); removed after the test. */
export async function policyDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "ganymede-policy-"));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}

/** A set from plain objects; fails the test when the set is invalid. */
export function setOf(...documents: { file: string; data: unknown }[]): PolicySet {
  const result = policySetFromObjects("policies", documents);
  if (!result.set) throw new Error(result.problems.join("\n"));
  return result.set;
}

export const defaultDoc = {
  file: "policies/default.yaml",
  data: {
    name: "default",
    appliesTo: { default: true },
    limits: { namedServers: 5, serverNameMaxLength: 20, idleTimeout: "2h", storage: "2GiB", cpu: 1, memory: "2GB", concurrentBuilds: 2, buildTimeout: "30m" },
  },
};

/** An override document for `groups`, in policies/<name>.yaml; `repositories` is its optional section. */
export function override(name: string, groups: string[], limits: Record<string, unknown>, priority?: number, repositories?: unknown) {
  return {
    file: `policies/${name}.yaml`,
    data: {
      name,
      appliesTo: { groups },
      ...(priority === undefined ? {} : { priority }),
      limits,
      ...(repositories === undefined ? {} : { repositories }),
    },
  };
}
