/**
 * Binder launch timings (issue 5), one run, real parts: the Docker engine, a registry, a git server and the hub with
 * the Docker spawner and builder (server/test/support/binder-hub.ts). Prints a Markdown table for docs/benchmarks.md.
 *
 *   cd server && node --import tsx ../bench/binder.ts
 *
 * - cached: the registry has the commit's image; the user's server is stopped; Launch → `ready` (median of 5);
 * - running: the server already runs that image: Launch → `ready`;
 * - new repository: a requirements.txt repository never built, on an engine whose Jupyter layer is cached;
 * - cold: the same, with a Jupyter layer the engine has never built (JupyterLab installed from PyPI).
 */
import { randomBytes } from "node:crypto";
import { startBinderHub, type BinderHub } from "../server/test/support/binder-hub.js";
import { readEvents } from "../server/test/support/hub.js";

interface Timed {
  ms: number;
  last: { phase: string; message?: string };
}

async function launch(binder: BinderHub, token: string, spec: string): Promise<Timed> {
  const started = Date.now();
  const events = (await readEvents(binder.hub.url, `/build/${spec}`, token, 900_000)) as { phase: string; message?: string }[];
  const last = events.at(-1)!;
  if (last.phase !== "ready") throw new Error(`launch of ${spec} ended in ${last.phase}: ${last.message}`);
  return { ms: Date.now() - started, last };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const spec = (url: string) => `git/${encodeURIComponent(url)}/main`;

async function main() {
  const unique = randomBytes(4).toString("hex");
  const rows: string[][] = [];
  const binder = await startBinderHub();
  try {
    const token = await binder.hub.addUser("bench");
    const { url } = await binder.git.createRepo(`bench-${unique}`, { "requirements.txt": "tabulate==0.9.0\n", "README.md": unique });

    const fresh = await launch(binder, token, spec(url));
    rows.push(["New requirements.txt repository (Jupyter layer cached): Launch → ready", seconds(fresh.ms)]);

    const running = await launch(binder, token, spec(url));
    rows.push(["Same commit, server running: Launch → ready", seconds(running.ms)]);

    const cached: number[] = [];
    const server = (await binder.hub.api("GET", "users/bench", { token })).body.servers as Record<string, unknown>;
    const name = Object.keys(server)[0]!;
    for (let i = 0; i < 5; i++) {
      const stopped = await binder.hub.api("DELETE", `users/bench/servers/${name}`, { token });
      if (stopped.status !== 204 && stopped.status !== 202) throw new Error(`stop answered ${stopped.status}`);
      while ((await binder.hub.api("GET", "users/bench", { token })).body.servers[name]) await new Promise((r) => setTimeout(r, 200));
      cached.push((await launch(binder, token, spec(url))).ms);
    }
    rows.push([`Cached image, server stopped: Launch → ready (median of 5; ${cached.map(seconds).join(", ")})`, seconds(median(cached))]);
  } finally {
    await binder.close();
  }

  // Cold: a Jupyter layer this engine has never built. An extra, harmless requirement that differs in every run
  // (tabulate, excluding a version that does not exist) changes the layer, so pip installs JupyterLab from PyPI.
  const never = `0.0.${parseInt(unique, 16)}`;
  const cold = await startBinderHub({
    builder: { jupyterPackages: ["jupyterlab==4.6.6", "jupyter-server==2.21.1", "ipykernel==7.4.0", `tabulate!=${never}`] },
  });
  try {
    const token = await cold.hub.addUser("bench");
    const { url } = await cold.git.createRepo(`cold-${unique}`, { "requirements.txt": "tabulate==0.9.0\n", "README.md": unique });
    const result = await launch(cold, token, spec(url));
    rows.push(["Cold: new repository and an uncached Jupyter layer (JupyterLab from PyPI): Launch → ready", seconds(result.ms)]);
  } finally {
    await cold.close();
  }

  console.log("| Binder launch | Time |\n| --- | --- |");
  for (const [what, time] of rows) console.log(`| ${what} | ${time} |`);
}

await main();
