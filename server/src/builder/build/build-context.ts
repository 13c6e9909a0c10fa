/**
 * The build context sent to the engine: the checkout without `.git`, with the recipe's generated files, filtered by
 * `.dockerignore` the way the Docker CLI filters it (dockerignore.ts), packed by GNU tar from an explicit file list.
 *
 * Why not dockerode's `buildImage({ context, src })`: it drops every file `.dockerignore` names from the list,
 * the Dockerfile and `.dockerignore` included (the generated .dockerignore names the generated Dockerfile precisely
 * so that the classic builder leaves it out of `COPY .`, which needs it *in* the tar), and it applies the rules to
 * nested paths only partially. Why GNU tar rather than a tar library: it is on every machine the hub supports, and
 * handles long names, symlinks (stored as links, never followed) and modes the way Docker's own archiver does.
 * Entries are owned by 0:0, as the CLI sends them.
 */
import { spawn } from "node:child_process";
import { lstat, mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { BuildFailedError } from "./errors.js";
import { keepBuildFiles, parseDockerignore, PatternMatcher } from "./dockerignore.js";

export interface ContextListing {
  /** Paths relative to the root, "/"-separated, folders before what they contain. */
  entries: string[];
  files: number;
  bytes: number;
}

/**
 * Writes the recipe's generated files into the checkout. A repository file of the same name is removed first, and
 * the new file is created exclusively, so a `.dockerignore` that is a symlink to a file of the hub is replaced, not
 * written through.
 */
export async function writeGeneratedFiles(root: string, generated: ReadonlyMap<string, string>): Promise<void> {
  for (const [name, content] of generated) {
    const rel = path.posix.normalize(name);
    if (rel.startsWith("../") || rel === ".." || path.isAbsolute(rel) || rel === ".git" || rel.startsWith(".git/")) {
      throw new Error(`refusing to write generated file ${JSON.stringify(name)} outside the checkout`);
    }
    const target = path.join(root, rel);
    await mkdir(path.dirname(target), { recursive: true });
    await rm(target, { recursive: true, force: true });
    await writeFile(target, content, { flag: "wx", mode: 0o644 });
  }
}

/** What the CLI would send for `root` built with `dockerfile` (context-relative), plus `.git` always left out. */
export async function listContext(root: string, dockerfile: string): Promise<ContextListing> {
  let patterns: string[] = [];
  const ignore = path.join(root, ".dockerignore");
  const kind = await lstat(ignore).catch(() => undefined);
  if (kind?.isFile()) patterns = parseDockerignore(await readFile(ignore, "utf8"));
  const matcher = new PatternMatcher(keepBuildFiles(patterns, dockerfile));
  const listing: ContextListing = { entries: [], files: 0, bytes: 0 };

  async function walk(relDir: string): Promise<void> {
    const names = (await readdir(path.join(root, relDir))).sort();
    for (const name of names) {
      const rel = relDir ? `${relDir}/${name}` : name;
      if (rel === ".git") continue;
      const st = await lstat(path.join(root, rel));
      const excluded = matcher.matchesOrParentMatches(rel);
      if (st.isDirectory()) {
        if (!excluded) listing.entries.push(rel);
        if (!excluded || (matcher.hasExclusions && matcher.mayIncludeBelow(rel))) await walk(rel);
        continue;
      }
      if (excluded || !(st.isFile() || st.isSymbolicLink())) continue;
      listing.entries.push(rel);
      listing.files++;
      if (st.isFile()) listing.bytes += st.size;
    }
  }
  await walk("");
  return listing;
}

/**
 * Packs `entries` of `root` into a tar stream. `done` settles when tar exits: it rejects when tar failed (the
 * stream is then incomplete and the engine refuses it too, but this says why). Aborting `signal` kills tar, and so
 * does `stop()`, for when the engine stopped reading (tar would otherwise wait on a full pipe forever).
 */
export function packContext(
  root: string,
  entries: string[],
  signal: AbortSignal,
): { stream: Readable; done: Promise<void>; stop: () => void } {
  const tar = spawn(
    "tar",
    [
      "--create",
      "--file=-",
      `--directory=${root}`,
      "--numeric-owner",
      "--owner=0",
      "--group=0",
      "--no-recursion",
      "--null",
      "--verbatim-files-from",
      "--files-from=-",
    ],
    { stdio: ["pipe", "pipe", "pipe"], signal, killSignal: "SIGKILL", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LC_ALL: "C" } },
  );
  let stderr = "";
  tar.stderr.on("data", (chunk: Buffer) => {
    if (stderr.length < 4000) stderr += chunk.toString("utf8");
  });
  const done = new Promise<void>((resolve, reject) => {
    tar.on("error", (err) => {
      if (signal.aborted) return reject(signal.reason);
      reject(new BuildFailedError("backend", `Could not pack the build context: ${err.message}`));
    });
    tar.on("close", (code) => {
      if (code === 0) return resolve();
      if (signal.aborted) return reject(signal.reason);
      reject(new BuildFailedError("backend", `Could not pack the build context: ${stderr.trim().split("\n").at(-1) ?? `tar exited with ${code}`}`));
    });
  });
  // A name list of any size: tar reads it while it writes the archive.
  tar.stdin.on("error", () => undefined);
  tar.stdin.end(entries.map((e) => `${e}\0`).join(""));
  const stop = () => {
    if (tar.exitCode === null && tar.signalCode === null) tar.kill("SIGKILL");
    tar.stdout.destroy();
  };
  return { stream: tar.stdout, done, stop };
}
