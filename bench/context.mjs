/**
 * What a benchmark report says about its circumstances: the versions measured and the machine they ran on.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { CACHE, CHP, ROOT, VENV } from "./hubs.mjs";

export function versions() {
  const run = (cmd, args) => execFileSync(cmd, args, { encoding: "utf8" }).trim();
  const py = path.join(VENV, "bin", "python");
  const dirty = run("git", ["-C", ROOT, "status", "--porcelain", "--", "server", "prisma", "policies"]) !== "";
  return {
    node: process.version,
    ganymede: `${JSON.parse(readFileSync(path.join(ROOT, "server", "package.json"), "utf8")).version} (${run("git", ["-C", ROOT, "rev-parse", "--short", "HEAD"])}${dirty ? " + uncommitted changes" : ""})`,
    jupyterhub: run(py, ["-c", "import jupyterhub; print(jupyterhub.__version__)"]),
    chp: run(process.execPath, [CHP, "--version"]),
    jupyterServer: run(py, ["-c", "import jupyter_server; print(jupyter_server.__version__)"]),
    jupyterlab: run(py, ["-c", "import jupyterlab; print(jupyterlab.__version__)"]),
    python: run(py, ["-c", "import platform; print(platform.python_version())"]),
    autocannon: JSON.parse(readFileSync(path.join(CACHE, "autocannon", "node_modules", "autocannon", "package.json"), "utf8")).version,
  };
}

export function machine() {
  return {
    cores: os.cpus().length,
    cpu: os.cpus()[0]?.model ?? "unknown",
    ramGiB: os.totalmem() / 2 ** 30,
    // Other work on the machine skews a 2-core benchmark: the 1-minute load average before we start anything.
    loadBefore: os.loadavg()[0],
    kernel: `${os.type()} ${os.release()}`,
    date: new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC",
  };
}
