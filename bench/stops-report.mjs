/**
 * One run of bench/stops.mjs as a Markdown table (Ganymede | JupyterHub 5 + CHP | ratio), printed for
 * docs/benchmarks.md; the raw numbers go to bench/.cache/last-stops-run.json.
 */
import { percentile } from "./lib.mjs";

const G = "Ganymede";
const J = "JupyterHub";
const int = (n) => Math.round(n).toLocaleString("en-US");
const sec = (ms) => (ms >= 10_000 ? `${int(ms / 1000)} s` : `${(ms / 1000).toFixed(ms >= 1000 ? 1 : 2)} s`);
const mib = (n) => `${int(n)} MiB`;
const total = (byRole) => Object.values(byRole).reduce((a, b) => a + b, 0);
/** How a process of a hub's is called in the table (JupyterHub's proxy; the Docker engine's two daemons keep theirs). */
const ROLE_NAMES = { proxy: "CHP" };
const ratio = (g, j) => (Number.isFinite(g) && Number.isFinite(j) && j > 0 ? `${(g / j).toFixed(g / j >= 10 ? 0 : 2)}×` : "–");

/** Per-stop times (ms) of the stops that finished. */
const times = (w) => w.stops.filter((s) => s.ms !== null).map((s) => s.ms);
const unfinished = (w) => w.stops.filter((s) => s.ms === null);
const errored = (w) => w.stops.filter((s) => s.deleteStatus !== 202 && s.deleteStatus !== 204);

/** Wall time until every stop was seen finished; "not all" when some never were. */
function allStopped(w) {
  if (!w) return "–";
  const missing = unfinished(w).length;
  return missing ? `never (${missing} never finished; the last that did after ${sec(w.lastStoppedMs)})` : sec(w.wallMs);
}

/** "a (×3); b" — distinct values with their counts, most frequent first. */
function kinds(values) {
  const counts = new Map();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}${n > 1 ? ` (×${int(n)})` : ""}`).join("; ");
}

/** "**n**: DELETE → 202, then `stopping, pending: stop` (×n); …" — how the stops that failed looked. */
function failures(list, what) {
  return list.length ? `**${list.length}**: ${kinds(list.map(what))}` : "0";
}

function cpuCell(byRole) {
  const s = (ms) => (ms >= 100_000 ? `${int(ms / 1000)} s` : `${(ms / 1000).toFixed(1)} s`);
  const roles = Object.entries(byRole);
  if (roles.length === 1) return s(byRole.hub);
  return `${s(total(byRole))} (${roles.map(([role, ms]) => `${ROLE_NAMES[role] ?? role} ${s(ms)}`).join(" + ")})`;
}

export function renderStops(r) {
  const { versions: v, machine: m, params: p } = r;
  const g = r.hubs[G];
  const j = r.hubs[J];
  const rows = [];
  const row = (label, f, num = () => NaN) => {
    const cell = (h) => (h ? f(h) : "–");
    rows.push(`| ${label} | ${cell(g)} | ${cell(j)} | ${g && j ? ratio(num(g), num(j)) : "–"} |`);
  };
  const N = g?.wave.n ?? j?.wave.n;
  const nLabel = g && j && g.wave.n !== j.wave.n ? `${int(g.wave.n)} / ${int(j.wave.n)}` : int(N);

  row(`All ${nLabel} stopped, ${p.CLIENTS} clients`, (h) => allStopped(h.wave), (h) => (unfinished(h.wave).length ? NaN : h.wave.wallMs));
  row("Per stop (DELETE → gone from the user model), p50 / p99 / max", (h) => {
    const t = times(h.wave);
    return `${sec(percentile(t, 50))} / ${sec(percentile(t, 99))} / ${sec(Math.max(...t))}`;
  }, (h) => percentile(times(h.wave), 50));
  row(`Stops never seen finished (within ${p.STOP_TIMEOUT_S / 60} min)`, (h) => failures(unfinished(h.wave), (s) => `DELETE → ${s.deleteStatus}, then \`${s.last}\``));
  row("DELETEs not answered 202/204", (h) => failures(errored(h.wave), (s) => `DELETE → ${s.deleteStatus}`));
  row("Hub CPU during the wave (user + system)", (h) => cpuCell(h.wave.cpuMs), (h) => total(h.wave.cpuMs));
  row("Hub RSS before / peak during / after the wave", (h) => `${mib(total(h.wave.rss.before))} / ${mib(h.wave.rss.peak)} / ${mib(total(h.wave.rss.after))}`, (h) => total(h.wave.rss.after));
  row(`API during the wave: GET /hub/api/users/<user> every ${p.PROBE_MS} ms, p50 / p99 of the answered; failed`, (h) => {
    const a = h.wave.api;
    const failed = a.failures.length ? `${int(a.failures.length)} of ${int(a.ms.length + a.failures.length)} (${kinds(a.failures)})` : `0 of ${int(a.ms.length)}`;
    return `${int(percentile(a.ms, 50))} / ${int(percentile(a.ms, 99))} ms; ${failed}`;
  }, (h) => percentile(h.wave.api.ms, 99));
  row("Hub open files, peak during the wave", (h) => (h.wave.openFilesPeak ? Object.entries(h.wave.openFilesPeak).map(([role, n]) => (role === "hub" ? int(n) : `${ROLE_NAMES[role] ?? role} ${int(n)}`)).join(" + ") : "–"));
  row(`One stop at a time with ~${nLabel} running (${p.ONE_BY_ONE}), p50 / hub CPU per stop`, (h) => {
    const o = h.oneByOne;
    return `${sec(percentile(o.stops.filter((s) => s.ms !== null).map((s) => s.ms), 50))} / ${sec(total(o.cpuMs) / o.n)}${unfinished(o).length ? ` (${unfinished(o).length} never finished)` : ""}`;
  }, (h) => percentile(h.oneByOne.stops.filter((s) => s.ms !== null).map((s) => s.ms), 50));
  if (p.WAVE > 0) {
    row(`${p.WAVE} stopped at once (${p.WAVE} running): all stopped / p50 per stop`, (h) => (h.smallWave ? `${allStopped(h.smallWave)} / ${sec(percentile(times(h.smallWave), 50))}` : "–"), (h) => (h.smallWave && !unfinished(h.smallWave).length ? h.smallWave.wallMs : NaN));
    row(`… hub CPU during those ${p.WAVE} stops`, (h) => (h.smallWave ? cpuCell(h.smallWave.cpuMs) : "–"), (h) => (h.smallWave ? total(h.smallWave.cpuMs) : NaN));
  }
  row(`Starting ${nLabel} servers, ${p.START_CONCURRENCY} at a time, until all ready`, (h) => `${sec(h.start.seconds * 1000)}${h.start.failed.length ? ` (${h.start.failed.length} failed)` : ""}`, (h) => h.start.seconds);
  row(`Hub CPU at rest with ${nLabel} running`, (h) => `${int(h.idleCpuMsPerS)} ms/s`, (h) => h.idleCpuMsPerS);
  row(`Hub RSS with ${int(p.USERS)} users, then with ${nLabel} running`, (h) => `${mib(total(h.rssIdle))}, ${mib(total(h.rssRunning))}`, (h) => total(h.rssRunning));
  row("Memory with them running: the servers' processes (PSS) / available (MemAvailable)", (h) => `${mib(h.serverProcesses.pssMiB)} in ${int(h.serverProcesses.n)} processes / ${mib(h.availableMiBRunning)}`, (h) => h.serverProcesses.pssMiB);

  const capped = Object.entries(r.hubs).filter(([, h]) => h.start?.memoryCapped);
  return [
    `Run of ${m.date} — \`bench/run.sh stops\``,
    "",
    `- Machine: ${m.cores} cores (${m.cpu}), ${m.ramGiB.toFixed(1)} GiB RAM (${int(m.availableMiB)} MiB available at the start), ${m.kernel}; ` +
      `1-minute load average ${m.loadBefore.toFixed(2)} before the run, ${m.loadAfter?.toFixed(2) ?? "?"} at its end`,
    `- Versions: Node ${v.node}, Ganymede ${v.ganymede}, JupyterHub ${v.jupyterhub}, configurable-http-proxy ${v.chp}, stand-in server on Python ${v.python}` +
      (v.docker ? `; Docker engine ${v.docker}` : ""),
    `- Backend: ${p.BACKEND === "docker" ? "Docker (servers as containers; the engine's dockerd and containerd counted with the hub)" : "local processes"}`,
    `- Parameters: ${int(p.USERS)} users, ${int(p.SERVERS)} servers asked for, ${p.CLIENTS} clients, per-stop timeout ${p.STOP_TIMEOUT_S} s, settle ${p.SETTLE_S} s` +
      (capped.length ? `; starts stopped at ${p.MIN_AVAILABLE_MIB} MiB available for ${capped.map(([k]) => k).join(", ")}` : ""),
    "",
    "| Measure | Ganymede | JupyterHub 5 + CHP | Ganymede ÷ JupyterHub |",
    "| --- | ---: | ---: | ---: |",
    ...rows,
  ].join("\n");
}
