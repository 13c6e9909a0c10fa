/**
 * The audit trail at scale (issue 14): what recording costs when thousands of requests land at once (a stop wave
 * records one event per stop), and what the administrators' queries cost once the trail is large. A real database
 * of the hub's own schema (SQLite in WAL mode, as the hub opens it; `BENCH_DATABASE_URL=postgresql://…` for another).
 *
 *   cd server && node --import tsx ../bench/audit.ts          (bench/run.sh audit)
 *
 * 100,000 events from 2,000 users, written 2,000 at a time (as 2,000 servers stopping at once would), then: the first
 * page of everything, of one user, of an action prefix, of refusals; a page deep in the trail by cursor; the whole
 * JSON lines export; the retention purge of all of it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { AuditTrail, type AuditInput } from "../server/src/audit/trail.js";
import { createLogger } from "../server/src/lib/logger.js";
import { openDatabase } from "../server/src/store/database.js";
import { applyMigrations } from "../server/src/store/migrate.js";

const EVENTS = 100_000;
const WAVE = 2_000;
const USERS = 2_000;
const ACTIONS = ["server.start", "server.stop", "sign-in", "token.create", "proxy.access"];

const dir = mkdtempSync(path.join(tmpdir(), "ganymede-bench-audit-"));
const url = process.env.BENCH_DATABASE_URL ?? `file:${path.join(dir, "hub.sqlite")}`;
await applyMigrations(url);
const database = await openDatabase(url);
const trail = new AuditTrail(database.prisma, createLogger("silent"));

const event = (i: number): AuditInput => ({
  actor: `user${i % USERS}`,
  actorKind: "user",
  action: ACTIONS[i % ACTIONS.length]!,
  user: `user${i % USERS}`,
  server: i % 3 ? "lab" : "",
  outcome: i % 10 === 0 ? "refused" : "ok",
  status: i % 10 === 0 ? 400 : 202,
  detail: i % 10 === 0 ? { error: "policy_denied", message: "server name is 25 characters; policy `default` allows at most 20" } : undefined,
  address: "10.0.0.7",
});

const ms = (since: number) => performance.now() - since;
let started = performance.now();
const waves: number[] = [];
for (let done = 0; done < EVENTS; done += WAVE) {
  const wave = performance.now();
  await Promise.all(Array.from({ length: WAVE }, (_, k) => trail.record(event(done + k))));
  waves.push(ms(wave));
}
const writeMs = ms(started);
waves.sort((a, b) => a - b);

const timed = async (what: string, fn: () => Promise<unknown>) => {
  const t = performance.now();
  const result = await fn();
  return { what, ms: ms(t), result };
};
const first = await trail.query({ limit: 100 });
const queries = [
  await timed("first page of everything (100)", () => trail.query({ limit: 100 })),
  await timed("first page of one user (100)", () => trail.query({ user: "user1234", limit: 100 })),
  await timed("first page of an action prefix `server.` (100)", () => trail.query({ action: "server.", limit: 100 })),
  await timed("first page of refusals (100)", () => trail.query({ outcome: "refused", limit: 100 })),
  await timed("a page 50,000 events deep, by cursor (100)", () => trail.query({ before: first.events[0]!.id - 50_000, limit: 100 })),
];
started = performance.now();
let exported = 0;
for await (const e of trail.all({})) exported += Number(JSON.stringify(e).length > 0);
const exportMs = ms(started);
const purge = await timed("retention purge of everything", () => trail.purge(0, Date.now() + 1000));

console.log(`${EVENTS.toLocaleString("en")} events from ${USERS.toLocaleString("en")} users, written ${WAVE.toLocaleString("en")} at a time, ${url.startsWith("file:") ? "SQLite (WAL)" : "PostgreSQL"}\n`);
console.log("| measure | time |");
console.log("|---|---:|");
console.log(`| write all ${EVENTS.toLocaleString("en")} | ${(writeMs / 1000).toFixed(1)} s (${Math.round(EVENTS / (writeMs / 1000)).toLocaleString("en")} events/s) |`);
console.log(`| one wave of ${WAVE.toLocaleString("en")} at once, median / max | ${waves[waves.length >> 1]!.toFixed(0)} / ${waves.at(-1)!.toFixed(0)} ms |`);
for (const q of queries) console.log(`| ${q.what} | ${q.ms.toFixed(1)} ms |`);
console.log(`| JSON lines export of all ${exported.toLocaleString("en")} (pages of 1,000) | ${(exportMs / 1000).toFixed(2)} s |`);
console.log(`| ${purge.what} (${String(purge.result)} events) | ${purge.ms.toFixed(0)} ms |`);
await database.close();
rmSync(dir, { recursive: true, force: true });
