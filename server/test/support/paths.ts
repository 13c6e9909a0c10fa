/** Paths the tests need: the repository root and the Jupyter installed by scripts/setup.sh. */
import { fileURLToPath } from "node:url";
import path from "node:path";
import { existsSync } from "node:fs";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

/** `jupyter` from the project's virtualenv (scripts/setup.sh creates it). */
export const jupyterBin = path.join(repoRoot, ".venv/bin/jupyter");

if (!existsSync(jupyterBin)) {
  throw new Error(`${jupyterBin} is missing: run scripts/setup.sh first`);
}

/** The Jupyter command the local spawner runs in tests (jupyter-server, lighter than lab). */
export const jupyterCommand = [jupyterBin, "server"];

/** Where browser tests put their screenshots (the README shows copies from docs/screenshots/). */
export const screenshotsDir = path.join(repoRoot, "server/test-results/screenshots");

/** A minimal stand-in for a Jupyter server (~20 ms to listen, ~10 MB), for tests about the hub at scale. */
export const standInServer = ["/usr/bin/python3", path.join(repoRoot, "bench/stand-in-server.py")];
