/**
 * Checking a repository out at one commit, against real repositories served by git http-backend: the commit asked
 * for (not the branch tip), progress lines, the fallback for servers that refuse to hand out a commit by id (forced
 * here with protocol v0 through a `gitBin` wrapper), refusals, cancellation, and no folder left behind.
 */
import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SpecError } from "../../src/builder/index.js";
import { checkout, withCheckout } from "../../src/builder/build/index.js";
import { BuildFailedError } from "../../src/builder/build/errors.js";
import { startGitServer, type GitServer } from "../support/git-server.js";

const rules = { allowHttp: true, allowPrivateHosts: true };
let git: GitServer;
let work: string;
let v0Git: string;
let target: { repoUrl: string; displayName: string };
let first: string;
let second: string;

beforeAll(async () => {
  git = await startGitServer();
  work = await mkdtemp(path.join(tmpdir(), "ganymede-checkout-test-"));
  // A client that speaks protocol v0, where http-backend refuses commits that are not a ref's tip.
  v0Git = path.join(work, "git-v0");
  await writeFile(v0Git, '#!/bin/sh\nexec git -c protocol.version=0 "$@"\n');
  await chmod(v0Git, 0o755);
  const repo = await git.createRepo("co", { "a.txt": "one\n", "sub/b.txt": "b\n" });
  first = repo.commit;
  second = await git.commit("co", { "a.txt": "two\n" });
  target = { repoUrl: repo.url, displayName: "co" };
});

afterAll(async () => {
  await git?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

async function leftInWorkDir(): Promise<string[]> {
  return (await readdir(work)).filter((name) => name !== "git-v0");
}

describe("checkout", () => {
  it("checks out the commit asked for, not the branch tip, and reports git's progress", async () => {
    const progress: string[] = [];
    const content = await withCheckout(target, first, { rules, workDir: work, onProgress: (l) => progress.push(l) }, async (dir) => {
      expect((await readdir(dir)).sort()).toEqual([".git", "a.txt", "sub"]);
      return readFile(path.join(dir, "a.txt"), "utf8");
    });
    expect(content).toBe("one\n");
    expect(progress.some((l) => /objects/.test(l))).toBe(true);
    expect(await leftInWorkDir()).toEqual([]);
  });

  it("falls back to fetching every branch when the server will not serve a commit by id", async () => {
    const progress: string[] = [];
    const co = await checkout(target, first, { rules, workDir: work, gitBin: v0Git, onProgress: (l) => progress.push(l) });
    try {
      expect(await readFile(path.join(co.dir, "a.txt"), "utf8")).toBe("one\n");
      expect(progress.join("\n")).toMatch(/does not serve single commits .*; fetching all branches/);
    } finally {
      await co.remove();
    }
    expect(await leftInWorkDir()).toEqual([]);
  });

  it("says when the commit is not in the repository", async () => {
    const missing = "0123456789abcdef0123456789abcdef01234567";
    const err = await checkout(target, missing, { rules, workDir: work }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpecError);
    expect((err as SpecError).message).toBe(`commit ${missing} is not in co (was it force-pushed away?)`);
    expect(await leftInWorkDir()).toEqual([]);
  });

  it("refuses what the URL rules forbid before running git", async () => {
    await expect(checkout(target, second, { rules: { allowHttp: false, allowPrivateHosts: true }, workDir: work })).rejects.toThrow(
      /must use https/,
    );
    await expect(checkout(target, second, { rules: { allowHttp: true, allowPrivateHosts: false }, workDir: work })).rejects.toThrow(
      /not a public address/,
    );
    await expect(checkout(target, "main", { rules, workDir: work })).rejects.toThrow(/full commit id/);
    expect(await leftInWorkDir()).toEqual([]);
  });

  it("stops when its signal aborts, with the signal's reason, and leaves nothing", async () => {
    const controller = new AbortController();
    const reason = new BuildFailedError("cancelled", "stop");
    controller.abort(reason);
    await expect(checkout(target, second, { rules, workDir: work, signal: controller.signal })).rejects.toBe(reason);
    expect(await leftInWorkDir()).toEqual([]);
  });
});
