/**
 * Real git repositories served over smart HTTP by `git http-backend` (CGI behind node:http), for tests of ref
 * resolution and, later, of end-to-end builds. Repositories are bare repos in a temporary directory; commits are
 * made in a work clone beside each one and pushed.
 *
 *   const git = await startGitServer();
 *   const { url, commit } = await git.createRepo("demo", { "requirements.txt": "numpy\n" });
 *   await git.close();
 */
import { execFile, spawn } from "node:child_process";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

const GIT = "/usr/bin/git";
const HTTP_BACKEND = "/usr/lib/git-core/git-http-backend";

/** File path → content; `null` deletes the file in a later commit. */
export type RepoFiles = Record<string, string | null>;

export interface GitServer {
  /** http://127.0.0.1:<port> */
  baseUrl: string;
  /** The clone URL of a repository: `<baseUrl>/<name>.git`. */
  urlOf(name: string): string;
  /** A new repository with one commit on `main` (HEAD) holding `files`. */
  createRepo(name: string, files: RepoFiles, options?: { executable?: string[] }): Promise<{ url: string; commit: string }>;
  /** Another commit on `branch` (default main; created from main if new); returns its id. */
  commit(name: string, files: RepoFiles, options?: { branch?: string; message?: string; executable?: string[] }): Promise<string>;
  /** A tag on the tip of main (annotated when `message` is given); returns the tagged commit. */
  tag(name: string, tag: string, options?: { message?: string; target?: string }): Promise<string>;
  /** How many HTTP requests the server has answered (to check that something did not fetch). */
  requests(): number;
  close(): Promise<void>;
}

const GIT_ENV = {
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_AUTHOR_NAME: "Test",
  GIT_AUTHOR_EMAIL: "test@example.org",
  GIT_COMMITTER_NAME: "Test",
  GIT_COMMITTER_EMAIL: "test@example.org",
};

function git(args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(GIT, args, { cwd, env: { ...process.env, ...GIT_ENV } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`git ${args.join(" ")} failed: ${stderr || err.message}`));
      else resolve(stdout.trim());
    });
  });
}

/** Serves one request through git http-backend (CGI/1.1: request meta-variables in, headers + body out). */
function serveCgi(root: string, req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? "/", "http://localhost");
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    ...GIT_ENV,
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: "1",
    GATEWAY_INTERFACE: "CGI/1.1",
    REQUEST_METHOD: req.method ?? "GET",
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    CONTENT_TYPE: req.headers["content-type"] ?? "",
    REMOTE_ADDR: req.socket.remoteAddress ?? "127.0.0.1",
    REMOTE_USER: "",
    HTTP_CONTENT_ENCODING: req.headers["content-encoding"] ?? "",
    HTTP_GIT_PROTOCOL: String(req.headers["git-protocol"] ?? ""),
  };
  if (req.headers["content-length"]) env.CONTENT_LENGTH = req.headers["content-length"];
  const cgi = spawn(HTTP_BACKEND, [], { env, stdio: ["pipe", "pipe", "pipe"] });
  req.pipe(cgi.stdin);
  let head = Buffer.alloc(0);
  let headersDone = false;
  cgi.stdout.on("data", (chunk: Buffer) => {
    if (headersDone) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf("\r\n\r\n");
    const endLf = head.indexOf("\n\n");
    const [at, sep] = end >= 0 && (endLf < 0 || end < endLf) ? [end, 4] : [endLf, 2];
    if (at < 0) return;
    headersDone = true;
    let status = 200;
    for (const line of head.subarray(0, at).toString("latin1").split(/\r?\n/)) {
      const colon = line.indexOf(":");
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === "status") status = parseInt(value, 10);
      else res.setHeader(name, value);
    }
    res.statusCode = status;
    res.write(head.subarray(at + sep));
  });
  cgi.stderr.resume();
  cgi.on("close", () => {
    if (!headersDone) res.statusCode = 502;
    res.end();
  });
  cgi.on("error", () => {
    res.statusCode = 502;
    res.end();
  });
}

export async function startGitServer(options: { host?: string } = {}): Promise<GitServer> {
  const dir = await mkdtemp(path.join(tmpdir(), "ganymede-git-"));
  const repos = path.join(dir, "repos");
  const work = path.join(dir, "work");
  await mkdir(repos);
  await mkdir(work);
  let count = 0;
  const server = http.createServer((req, res) => {
    count++;
    serveCgi(repos, req, res);
  });
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://${host}:${port}`;
  const urlOf = (name: string) => `${baseUrl}/${name}.git`;

  async function writeFiles(cwd: string, files: RepoFiles, executable: string[] = []): Promise<void> {
    for (const [file, content] of Object.entries(files)) {
      const target = path.join(cwd, file);
      if (content === null) {
        await rm(target, { force: true });
        continue;
      }
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, content, { mode: executable.includes(file) ? 0o755 : 0o644 });
    }
  }

  async function commitIn(cwd: string, message: string): Promise<string> {
    await git(["add", "--all"], cwd);
    await git(["commit", "--quiet", "--allow-empty", "-m", message], cwd);
    return git(["rev-parse", "HEAD"], cwd);
  }

  const api: GitServer = {
    baseUrl,
    urlOf,
    async createRepo(name, files, opts = {}) {
      const bare = path.join(repos, `${name}.git`);
      const clone = path.join(work, name);
      await git(["init", "--quiet", "--bare", "--initial-branch=main", bare], dir);
      await git(["init", "--quiet", "--initial-branch=main", clone], dir);
      await writeFiles(clone, files, opts.executable);
      const commit = await commitIn(clone, "initial commit");
      await git(["push", "--quiet", bare, "main"], clone);
      return { url: urlOf(name), commit };
    },
    async commit(name, files, opts = {}) {
      const clone = path.join(work, name);
      const branch = opts.branch ?? "main";
      const exists = await git(["rev-parse", "--verify", "--quiet", `refs/heads/${branch}`], clone).then(
        () => true,
        () => false,
      );
      await git(["checkout", "--quiet", ...(exists ? [branch] : ["-b", branch, "main"])], clone);
      await writeFiles(clone, files, opts.executable);
      const commit = await commitIn(clone, opts.message ?? `change ${Object.keys(files).join(", ")}`);
      await git(["push", "--quiet", "--force", path.join(repos, `${name}.git`), branch], clone);
      await git(["checkout", "--quiet", "main"], clone);
      return commit;
    },
    async tag(name, tag, opts = {}) {
      const clone = path.join(work, name);
      const target = opts.target ?? "main";
      const args = opts.message ? ["tag", "-a", "-m", opts.message, tag, target] : ["tag", tag, target];
      await git(args, clone);
      await git(["push", "--quiet", path.join(repos, `${name}.git`), `refs/tags/${tag}`], clone);
      return git(["rev-parse", `${target}^{commit}`], clone);
    },
    requests: () => count,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
  return api;
}
