/**
 * Reads a checkout's configuration files into a RepoSnapshot, the I/O half of detection. The checkout is untrusted:
 * a config file that is a symlink could point at the hub's own files (`requirements.txt -> /etc/shadow`) and its
 * content would then reach a build log or an error message, so symlinks and non-files are refused, and sizes are
 * capped.
 */
import { lstat, readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { RepoConfigError } from "../errors.js";
import { BINDER_DIRS, CONFIG_FILES, type RepoSnapshot } from "./repo-files.js";
import type { RepoTopLevel } from "./context.js";

/** Config files are small; anything bigger is not one (and is not read into the hub's memory). */
const MAX_CONFIG_BYTES = 1024 * 1024;
/** The files whose content detection reads; of the others (Dockerfile, postBuild, …) only existence matters. */
const READ: ReadonlySet<string> = new Set([
  "runtime.txt",
  "apt.txt",
  "requirements.txt",
  "Pipfile",
  "Pipfile.lock",
  "environment.yml",
]);

async function kind(file: string): Promise<"file" | "dir" | "symlink" | "other" | undefined> {
  try {
    const st = await lstat(file);
    return st.isSymbolicLink() ? "symlink" : st.isFile() ? "file" : st.isDirectory() ? "dir" : "other";
  } catch {
    return undefined;
  }
}

export async function readRepoSnapshot(root: string): Promise<RepoSnapshot> {
  const binderDirs = new Set<(typeof BINDER_DIRS)[number]>();
  for (const dir of BINDER_DIRS) if ((await kind(path.join(root, dir))) === "dir") binderDirs.add(dir);
  const files = new Map<string, string>();
  for (const dir of ["", ...binderDirs]) {
    for (const name of CONFIG_FILES) {
      const rel = dir ? `${dir}/${name}` : name;
      const full = path.join(root, rel);
      const k = await kind(full);
      if (k === undefined || k === "dir") continue;
      if (!READ.has(name)) {
        files.set(rel, "");
        continue;
      }
      if (k !== "file") {
        throw new RepoConfigError("config_file_invalid", `${rel} must be a regular file, not a ${k}`, rel);
      }
      const st = await lstat(full);
      if (st.size > MAX_CONFIG_BYTES) {
        throw new RepoConfigError("config_file_invalid", `${rel} is larger than ${MAX_CONFIG_BYTES / 1024} KiB`, rel);
      }
      files.set(rel, await readFile(full, "utf8"));
    }
  }
  return { files, binderDirs };
}

/** The top-level entries and `.dockerignore` that buildRecipe needs. */
export async function readRepoTopLevel(root: string): Promise<RepoTopLevel> {
  const entries = new Set(await readdir(root));
  const ignoreKind = await kind(path.join(root, ".dockerignore"));
  const dockerignore = ignoreKind === "file" ? await readFile(path.join(root, ".dockerignore"), "utf8") : undefined;
  return { entries, ...(dockerignore !== undefined ? { dockerignore } : {}) };
}
