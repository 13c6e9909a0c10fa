/**
 * The Jupyter configuration the hub gives every server, whatever the backend (server/jupyter-config): it keeps the
 * server's token out of the pages Jupyter serves and puts kernels on Unix sockets. Backends hand it over read-only:
 * the local one as a root-owned copy every server uid can read, the Docker one copied into each container.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export interface HubConfigFile {
  name: string;
  content: string;
}

const SHIPPED = fileURLToPath(new URL("../../jupyter-config/", import.meta.url));

/** The files of a configuration folder (default: the shipped one), read once when a spawner is configured. */
export function readHubConfig(dir = SHIPPED): HubConfigFile[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => ({ name: entry.name, content: readFileSync(path.join(dir, entry.name), "utf8") }))
    .sort((a, b) => a.name.localeCompare(b.name));
}
