/**
 * What user isolation costs a spawn, in one run, two ways:
 *
 * 1. Through the hub: the same spawn measured on three Ganymede hubs side by side — this checkout with its defaults
 *    (each user's own uid, bubblewrap sandbox), this checkout with `sandbox: off` (own uid only), and the build before
 *    servers had identities of their own (root, TCP port) — plus a bare Jupyter start as the floor. Jupyter's own
 *    ~1.5 s start varies by ±100 ms, more than what isolation adds, so:
 * 2. The local spawner alone, with a stand-in server (bench/stand-in-server.py, ~20 ms to listen) instead of
 *    Jupyter: from calling start() to the moment the stand-in listens (it logs the time), for the same three
 *    variants, each from its own build's compiled spawner. This is the hub's side of a start, to the millisecond.
 *
 * Rounds rotate the order, one start at a time. Run through `bench/run.sh isolation`.
 * Knobs (environment): BENCH_SPAWNS (20), BENCH_STARTS (60), BENCH_BASELINE: the checkout of the earlier build
 * (bench/run.sh makes it from BENCH_BASELINE_REV), BENCH_KEEP=1 keeps the temp directory.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { CACHE, ROOT, startGanymede, timedBareStart } from "./hubs.mjs";
import { sleep, stats, sweep } from "./lib.mjs";

const SPAWNS = Number(process.env.BENCH_SPAWNS ?? 20);
const STARTS = Number(process.env.BENCH_STARTS ?? 60);
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

  for (const hub of hubs.splice(0)) await hub.close();

  const spawner = await spawnerStarts();
  const lines = [
    `Run of ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, ${os.cpus().length} cores, \`bench/run.sh isolation\`.`,
    "",
    `Spawn through the hub, POST …/server → first 200 of /user/bench/api/status, ${SPAWNS} rounds (+1 warm-up):`,
    "",
    ...table(ms, "before (root)", 0),
    "",
    `The local spawner's start() with a stand-in server, until it listens, ${STARTS} rounds (+1 warm-up):`,
    "",
    ...table(spawner, "before (root)", 1),
  ];
  process.stdout.write("\n" + lines.join("\n") + "\n");
  writeFileSync(path.join(CACHE, "last-isolation-run.json"), JSON.stringify({ spawns: SPAWNS, ms, starts: STARTS, spawner }, null, 2));
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

/** A Markdown table of medians and ranges, each against `baseline`'s median. */
function table(samples, baseline, digits) {
  const s = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, stats(v)]));
  const base = s[baseline].median;
  const ms = (n) => `${n.toFixed(digits)} ms`;
  return [
    "| | median | min–max | vs before |",
    "| --- | ---: | ---: | ---: |",
    ...Object.entries(s).map(([k, v]) => {
      const d = v.median - base;
      const versus = k === "bare" || k === baseline ? "" : `${d >= 0 ? "+" : "−"}${ms(Math.abs(d))} (${(v.median / base).toFixed(2)}×)`;
      return `| ${k} | ${ms(v.median)} | ${ms(v.min)}–${ms(v.max)} | ${versus} |`;
    }),
  ];
}

/** Part 2: each build's local spawner, started and stopped over and over with the stand-in server. */
async function spawnerStarts() {
  const standIn = ["/usr/bin/python3", path.join(ROOT, "bench", "stand-in-server.py")];
  const uids = { description: "one fixed uid (the bench's)", uidFor: async () => 1_999_000 };
  const common = { command: standIn, args: [], env: {}, storage: "directory", cgroups: "off", stopGraceMs: 1000, pidsLimit: 1024, isolation: "users", uids };
  const variants = {
    "isolated + sandbox": [ROOT, { sandbox: "on" }],
    "isolated, no sandbox": [ROOT, { sandbox: "off" }],
    "before (root)": [BASELINE, {}],
  };
  const spawners = {};
  for (const [name, [root, extra]] of Object.entries(variants)) {
    const { createLocalSpawnerFactory } = await import(path.join(root, "server", "dist", "spawners", "local", "index.js"));
    const rootDir = path.join(tmp, "spawner", name.replace(/[^a-z]+/g, "-"));
    mkdirSync(rootDir, { recursive: true });
    const factory = createLocalSpawnerFactory({ ...common, ...extra, rootDir, cgroupParent: `ganymede-bench-${randomBytes(3).toString("hex")}` });
    spawners[name] = { spawner: factory.create({ user: "bench", serverName: "" }), log: path.join(rootDir, "bench", "_default", "server.log") };
  }
  const ctx = () => ({
    user: "bench",
    serverName: "",
    baseUrl: "/user/bench/",
    token: randomBytes(24).toString("hex"),
    limits: { cpu: 1, memoryBytes: 2 ** 30, storageBytes: 2 ** 30 },
    env: {},
  });
  const ms = Object.fromEntries(Object.keys(spawners).map((k) => [k, []]));
  for (let i = 0; i <= STARTS; i++) {
    const names = Object.keys(spawners);
    for (const name of [...names.slice(i % names.length), ...names.slice(0, i % names.length)]) {
      const { spawner, log: logFile } = spawners[name];
      await sleep(100);
      const t0 = performance.timeOrigin + performance.now(); // wall-clock ms, sub-ms precision
      await spawner.start(ctx(), new AbortController().signal, () => {});
      const listening = [...readFileSync(logFile, "utf8").matchAll(/stand-in listening at ([\d.]+)/g)].at(-1);
      await spawner.stop({ now: true });
      if (i > 0) ms[name].push(Number(listening[1]) * 1000 - t0);
    }
    if (i % 10 === 0) log(`spawner starts: ${i}/${STARTS}`);
  }
  for (const { spawner } of Object.values(spawners)) await spawner.removeStorage();
  return ms;
}
