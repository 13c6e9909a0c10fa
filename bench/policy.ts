/**
 * The policy engine at an organisation's scale (issue 14): 100 policies (the default and 99 overrides by group, by
 * user name, with priorities and repository rules) and 10,000 users in 1–5 of 300 groups. Pure functions, no I/O:
 * what each call costs the hub on every start, launch and explanation, and what a `policy diff` over every user
 * costs; with quotas across servers (every tenth policy) and capacities (the default, hub-wide, and every eleventh
 * policy), a start's decision with its usage, and counting 2,000 running servers into the pools (done once per
 * start that a capacity applies to). Prints a Markdown table for docs/benchmarks.md.
 *
 *   cd server && node --import tsx ../bench/policy.ts
 *
 * Seeded, so every run decides the same requests.
 */
import { performance } from "node:perf_hooks";
import { decide, diffPolicySets, explain, policySetFromObjects, poolUsage, type PolicySet, type PolicyUser } from "../server/src/policy/index.js";

const POLICIES = 100;
const USERS = 10_000;
const GROUPS = 300;

/** mulberry32: a small seeded generator, so runs compare. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = random(14);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

function policySet(variant: number): PolicySet {
  const documents: { file: string; data: unknown }[] = [
    {
      file: "default.yaml",
      data: {
        name: "default",
        appliesTo: { default: true },
        limits: { namedServers: 5, serverNameMaxLength: 20, idleTimeout: "2h", storage: "2GiB", cpu: 1, memory: "2GB", concurrentBuilds: 2, buildTimeout: "30m" },
        repositories: { privateHosts: false, deny: [{ pattern: "github.com/blocked/*", reason: "blocked by the organisation" }] },
        capacity: { runningServers: 5000, cpu: 4000 },
      },
    },
  ];
  for (let i = 1; i < POLICIES; i++) {
    const byUsers = i % 10 === 0;
    documents.push({
      file: `p${String(i).padStart(3, "0")}.yaml`,
      data: {
        name: `p${i}`,
        appliesTo: byUsers ? { users: Array.from({ length: 20 }, (_, k) => `user${(i * 97 + k) % USERS}`) } : { groups: [`g${(i * 3) % GROUPS}`, `g${(i * 3 + 1) % GROUPS}`] },
        priority: i % 7,
        limits: {
          ...(i % 2 ? { memory: `${2 + (i % 8)}GiB` } : {}),
          ...(i % 3 ? { cpu: 1 + (i % 4) } : {}),
          ...(i % 5 ? {} : { idleTimeout: i % 10 ? "8h" : "never" }),
          ...(i % 4 ? {} : { namedServers: 5 + (i % 6) + (i === variant ? 1 : 0) }),
          ...(i % 10 ? {} : { runningServers: 3, totalCpu: 4, totalMemory: "16GiB", totalStorage: "20GiB" }),
        },
        ...(i % 11 ? {} : { capacity: { runningServers: 50, whenFull: "queue" } }),
        ...(i % 6 ? {} : { repositories: { allow: [`github.com/org${i}/*`, "gitlab.example.org/**"], privateHosts: i % 12 === 0 } }),
      },
    });
  }
  const result = policySetFromObjects("bench", documents);
  if (!result.set) throw new Error(result.problems.join("\n"));
  return result.set;
}

const users: PolicyUser[] = Array.from({ length: USERS }, (_, i) => ({
  name: `user${i}`,
  groups: [...new Set(Array.from({ length: 1 + Math.floor(rand() * 5) }, () => `g${Math.floor(rand() * GROUPS)}`))],
}));

/** Runs `fn` once per user, timing each call: total, mean, p50, p99, max (µs). */
function measure(fn: (user: PolicyUser) => unknown) {
  for (const user of users.slice(0, 500)) fn(user); // warm the JIT
  const times: number[] = [];
  const started = performance.now();
  for (const user of users) {
    const t = performance.now();
    fn(user);
    times.push(performance.now() - t);
  }
  const total = performance.now() - started;
  times.sort((a, b) => a - b);
  const us = (ms: number) => (ms * 1000).toFixed(1);
  return { total: total.toFixed(0), mean: us(total / users.length), p50: us(times[times.length >> 1]!), p99: us(times[Math.floor(times.length * 0.99)]!), max: us(times.at(-1)!) };
}

const set = policySet(0);
const rows: [string, ReturnType<typeof measure>][] = [
  ["decide server.create", measure((user) => decide(set, { action: "server.create", user, server: { name: pick(["lab", "thesis", "a-long-server-name-x"]) }, current: { namedServers: 2 } }))],
  ["decide server.start", measure((user) => decide(set, { action: "server.start", user, server: { name: "lab" } }))],
  ["decide repository.launch", measure((user) => decide(set, { action: "repository.launch", user, repository: pick(["github.com/org6/analysis", "github.com/blocked/x", "https://gitlab.example.org/a/b/c.git"]), current: { builds: 1 } }))],
  ["explain (policy explain)", measure((user) => explain(set, user))],
];

// Quotas and capacity: 2,000 servers running (one for every fifth user), counted into the pools once, then every
// user's start decided against them.
const running = Array.from({ length: 2_000 }, (_, i) => ({ user: users[i * 5]!, name: "lab", cpu: 1, memoryBytes: 2e9 }));
for (let i = 0; i < 20; i++) poolUsage(set, running); // warm the JIT
const poolsStarted = performance.now();
const POOL_ROUNDS = 200;
let pools = poolUsage(set, running);
for (let i = 1; i < POOL_ROUNDS; i++) pools = poolUsage(set, running);
const poolMs = (performance.now() - poolsStarted) / POOL_ROUNDS;
const usage = { running: [{ name: "", cpu: 1, memoryBytes: 2e9 }], storageBytes: 2 ** 31, creates: true, pools: Object.fromEntries(pools) };
rows.push(["decide server.start with quotas and capacity", measure((user) => decide(set, { action: "server.start", user, server: { name: "lab" }, usage }))]);

// `policy diff`: one policy's namedServers raised, every user compared at once.
const proposed = policySet(4);
const diffStarted = performance.now();
const diff = diffPolicySets(set, proposed, users);
const diffMs = performance.now() - diffStarted;

const heap = process.memoryUsage();
console.log(`${POLICIES} policies, ${USERS.toLocaleString("en")} users in 1–5 of ${GROUPS} groups (Node ${process.version})\n`);
console.log("| call, once per user | total | mean | p50 | p99 | max |");
console.log("|---|---:|---:|---:|---:|---:|");
for (const [name, r] of rows) console.log(`| ${name} | ${r.total} ms | ${r.mean} µs | ${r.p50} µs | ${r.p99} µs | ${r.max} µs |`);
console.log(`\npolicy diff over all ${USERS.toLocaleString("en")} users: ${diffMs.toFixed(0)} ms; ${diff.compared - diff.unchanged} users changed, in ${diff.changed.length} entries`);
console.log(`counting 2,000 running servers into ${pools.size} capacity pools: ${poolMs.toFixed(2)} ms per start`);
console.log(`heap used: ${(heap.heapUsed / 2 ** 20).toFixed(1)} MiB, RSS ${(heap.rss / 2 ** 20).toFixed(1)} MiB`);
