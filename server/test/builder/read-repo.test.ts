import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { detectBuildPlan, readRepoSnapshot, readRepoTopLevel, RepoConfigError } from "../../src/builder/index.js";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), "ganymede-repo-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function files(entries: Record<string, string>): Promise<void> {
  for (const [name, content] of Object.entries(entries)) {
    await mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await writeFile(path.join(root, name), content);
  }
}

describe("reading a checkout's configuration", () => {
  it("reads only the config files, from the root and the binder folder", async () => {
    await files({ "requirements.txt": "root\n", "binder/requirements.txt": "six\n", "binder/postBuild": "#!/bin/sh\n", "notes.md": "x" });
    await mkdir(path.join(root, "binder/start")); // a folder named like a config file is not one
    const snapshot = await readRepoSnapshot(root);
    expect([...snapshot.binderDirs]).toEqual(["binder"]);
    expect(Object.fromEntries(snapshot.files)).toEqual({
      "requirements.txt": "root\n",
      "binder/requirements.txt": "six\n",
      "binder/postBuild": "", // only its existence matters
    });
    expect(detectBuildPlan(snapshot)).toMatchObject({ buildpack: "python", requirements: { file: "binder/requirements.txt" } });
  });

  it("notices an empty binder folder", async () => {
    await files({ "requirements.txt": "six\n" });
    await mkdir(path.join(root, ".binder"));
    expect([...(await readRepoSnapshot(root)).binderDirs]).toEqual([".binder"]);
  });

  it("refuses a config file that is a symlink (it could point at the hub's own files)", async () => {
    await symlink("/etc/passwd", path.join(root, "requirements.txt"));
    const err = await readRepoSnapshot(root).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RepoConfigError);
    expect(err).toMatchObject({ rule: "config_file_invalid", message: "requirements.txt must be a regular file, not a symlink" });
  });

  it("accepts a symlinked script, whose content it never reads", async () => {
    await files({ "scripts/post.sh": "#!/bin/sh\n" });
    await symlink("scripts/post.sh", path.join(root, "postBuild"));
    expect((await readRepoSnapshot(root)).files.get("postBuild")).toBe("");
  });

  it("refuses oversized config files", async () => {
    await files({ "apt.txt": "x".repeat(1024 * 1024 + 1) });
    await expect(readRepoSnapshot(root)).rejects.toMatchObject({ rule: "config_file_invalid", message: "apt.txt is larger than 1024 KiB" });
  });

  it("lists the top level and the repository's .dockerignore", async () => {
    await files({ ".dockerignore": "*.pyc\n", "a.txt": "" });
    expect(await readRepoTopLevel(root)).toEqual({ entries: new Set([".dockerignore", "a.txt"]), dockerignore: "*.pyc\n" });
  });
});
