/**
 * The spawner contract (issue 12): what the servers module relies on, run against every backend the way the store
 * suite runs against both databases — real Jupyter servers as local processes, as containers of a real Docker engine
 * (test/spawners/contract.test.ts) and as pods of a real Kubernetes cluster (test/kubernetes/). Each backend is an
 * adapter: a fresh factory (as a hub restart makes one) and a list of what of its test's servers the backend still
 * holds (processes, containers, pods, volumes, claims, mounts), which must be empty once a server is stopped and its
 * storage removed. A backend joins by calling describeSpawnerContract() with its adapter. Backend-specific behaviour
 * (limits, isolation, images) stays in each backend's own tests; the stop wave is in stop-wave.ts.
 */
import { describe, expect, it } from "vitest";
import type { SpawnContext, Spawner, SpawnerFactory } from "../../src/spawners/types.js";
import { request } from "./http-probe.js";
import { alice, contextFor, startReady } from "./local-spawner-harness.js";

export interface ContractBackend {
  /** A new factory, sharing nothing in memory with earlier ones (what a restarted hub has). */
  factory(): SpawnerFactory | Promise<SpawnerFactory>;
  /** What the backend still holds of this test's servers. */
  leftovers(): Promise<string[]>;
  /** The progress message after which the server is coming up (the abort test cancels the start there). */
  abortAt: RegExp;
}

const limits = { cpu: 0.5, memoryBytes: 512 * 2 ** 20, storageBytes: 64 * 2 ** 20 };
const ctxFor = (): SpawnContext => contextFor(alice, { limits });

/** Saves a file through the server's contents API; reads it back (undefined when it is not there). */
async function save(api: (p: string) => string, headers: Record<string, string>, text: string): Promise<void> {
  const res = await request(api("contents/contract.txt"), { method: "PUT", headers, body: { type: "file", format: "text", content: text } });
  expect(res.status).toBe(201);
}
async function load(api: (p: string) => string, headers: Record<string, string>): Promise<string | undefined> {
  const res = await request(api("contents/contract.txt"), { headers });
  return res.status === 200 ? (JSON.parse(res.body) as { content: string }).content : undefined;
}

/**
 * Runs `body` with `count` spawners of alice's server from fresh factories of `backend`; whatever happens, stops them
 * and removes their storage afterwards, so a failed test leaves the next one a clean start.
 */
async function withSpawners(backend: ContractBackend, count: number, body: (...spawners: Spawner[]) => Promise<void>): Promise<void> {
  const spawners: Spawner[] = [];
  for (let i = 0; i < count; i++) spawners.push((await backend.factory()).create(alice));
  try {
    await body(...spawners);
  } finally {
    for (const spawner of spawners.reverse()) {
      await spawner.stop({ now: true }).catch(() => undefined);
      await spawner.removeStorage().catch(() => undefined);
    }
  }
}

/** The contract's tests, against one backend (call it at the top level of a test file). */
export function describeSpawnerContract(name: string, backend: ContractBackend): void {
  describe(`the spawner contract: ${name}`, () => {
    it("starts a server that answers with its token, reports it running, and stops it", async () => {
      await withSpawners(backend, 1, async (spawner) => {
        const ctx = ctxFor();
        const { api, headers } = await startReady(spawner, ctx);
        expect((await request(api("status"), { headers })).status).toBe(200);
        expect((await request(api("status"), {})).status).toBe(403); // the token is required
        expect(await spawner.poll()).toEqual({ running: true });
        await spawner.stop();
        expect((await spawner.poll()).running).toBe(false);
        await spawner.removeStorage();
        expect(await backend.leftovers()).toEqual([]);
      });
    }, 180_000);

    it("is found again by a fresh factory from its saved state, which can stop it", async () => {
      await withSpawners(backend, 2, async (first, again) => {
        await startReady(first, ctxFor());
        again.restore(JSON.parse(JSON.stringify(first.state())) as Record<string, unknown>);
        expect(await again.poll()).toEqual({ running: true });
        await again.stop();
        expect((await again.poll()).running).toBe(false);
        expect((await first.poll()).running).toBe(false);
        await again.removeStorage();
        expect(await backend.leftovers()).toEqual([]);
      });
    }, 180_000);

    it("keeps the server's storage across a stop and a start, and removes it with removeStorage()", async () => {
      await withSpawners(backend, 1, async (spawner) => {
        const one = await startReady(spawner, ctxFor());
        await save(one.api, one.headers, "kept");
        await spawner.stop();
        const two = await startReady(spawner, ctxFor());
        expect(await load(two.api, two.headers)).toBe("kept");
        await spawner.stop();
        await spawner.removeStorage();
        expect(await backend.leftovers()).toEqual([]);
        const three = await startReady(spawner, ctxFor());
        expect(await load(three.api, three.headers)).toBeUndefined(); // new, empty storage
        await spawner.stop();
        await spawner.removeStorage();
      });
    }, 180_000);

    it("undoes a start aborted while the server comes up, leaving nothing running", async () => {
      await withSpawners(backend, 1, async (spawner) => {
        const abort = new AbortController();
        const starting = spawner.start(ctxFor(), abort.signal, (p) => {
          if (backend.abortAt.test(p.message)) abort.abort(new Error("start cancelled"));
        });
        await expect(starting).rejects.toThrow("start cancelled");
        expect((await spawner.poll()).running).toBe(false);
        await spawner.removeStorage();
        expect(await backend.leftovers()).toEqual([]);
      });
    }, 180_000);
  });
}
