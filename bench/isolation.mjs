/**
 * What user isolation costs a spawn, in one run: the same spawn measured on three Ganymede hubs side by side —
 * this checkout with its defaults (each user's own uid, bubblewrap sandbox), this checkout with `sandbox: off` (own
 * uid only), and the build before servers had identities of their own (root, TCP port) — plus a bare Jupyter start
 * as the floor. Rounds rotate the order, one spawn at a time. Run through `bench/run.sh isolation`.
 *
 * Knobs (environment): BENCH_SPAWNS (20), BENCH_BASELINE: the checkout of the earlier build (bench/run.sh makes it
 * from BENCH_BASELINE_REV), BENCH_KEEP=1 keeps the temp directory.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { CACHE, startGanymede, timedBareStart } from "./hubs.mjs";
import { sleep, stats, sweep } from "./lib.mjs";

const SPAWNS = Number(process.env.BENCH_SPAWNS ?? 20);
const BASELINE = process.env.BENCH_BASELINE;
if (!BASELINE) throw new Error("BENCH_BASELINE (a built checkout of the earlier build) is required: run bench/run.sh isolation");

const tmp = mkdtempSync(path.join(os.tmpdir(), "ganymede-bench-"));
chmodSync(tmp, 0o711); // servers run as their users' own uids, which must pass through to their folders
const log = (msg) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

const hubs = [];
try {
  const contenders = {
    "isolated + sandbox": await startGanymede(path.join(tmp, "sandboxed"), { label: "isolated + sandbox" }),
    "isolated, no sandbox": await startGanymede(path.join(tmp, "uid-only"), { label: "isolated, no sandbox", local: ['sandbox: "off"'] }),
    "before (root)": await startGanymede(path.join(tmp, "baseline"), { label: "before (root)", cli: path.join(BASELINE, "server", "dist", "cli.js") }),
  };
  hubs.push(...Object.values(contenders));
  const tokens = {};
  for (const [name, hub] of Object.entries(contenders)) tokens[name] = await hub.userToken("bench");

  const runs = {
    bare: () => timedBareStart(path.join(tmp, "bare")),
    ...Object.fromEntries(Object.entries(contenders).map(([n, hub]) => [n, () => hub.timedSpawn("bench", tokens[n])])),
  };
  const ms = Object.fromEntries(Object.keys(runs).map((k) => [k, []]));
  for (let i = 0; i <= SPAWNS; i++) {
    const names = Object.keys(runs);
    const round = {};
    for (const name of [...names.slice(i % names.length), ...names.slice(0, i % names.length)]) {
      await sleep(500);
      round[name] = await runs[name]();
    }
    log(`${i === 0 ? "warm-up (not counted)" : `round ${i}/${SPAWNS}`}: ${Object.entries(round).map(([k, v]) => `${k} ${v.toFixed(0)} ms`).join(", ")}`);
    if (i > 0) for (const k of Object.keys(round)) ms[k].push(round[k]);
  }

  const s = Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, stats(v)]));
  const base = s["before (root)"].median;
  const lines = [
    `Spawn, POST …/server → first 200 of /user/bench/api/status through the hub, ${SPAWNS} rounds (+1 warm-up), ${os.cpus().length} cores, ${new Date().toISOString().slice(0, 16)} UTC:`,
    "",
    "| | median | min–max | vs before |",
    "| --- | ---: | ---: | ---: |",
    ...Object.entries(s).map(([k, v]) => `| ${k} | ${v.median.toFixed(0)} ms | ${v.min.toFixed(0)}–${v.max.toFixed(0)} ms | ${k === "bare" ? "" : `${v.median - base >= 0 ? "+" : ""}${(v.median - base).toFixed(0)} ms (${(v.median / base).toFixed(3)}×)`} |`),
  ];
  process.stdout.write("\n" + lines.join("\n") + "\n");
  writeFileSync(path.join(CACHE, "last-isolation-run.json"), JSON.stringify({ spawns: SPAWNS, ms, stats: s }, null, 2));
} catch (err) {
  log(`failed: ${err.stack ?? err}`);
  process.exitCode = 1;
} finally {
  for (const hub of hubs) await hub.close().catch(() => undefined);
  const left = await sweep(tmp);
  if (left) log(`swept ${left} leftover process(es) of this run`);
  if (process.env.BENCH_KEEP === "1") log(`kept ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
}
