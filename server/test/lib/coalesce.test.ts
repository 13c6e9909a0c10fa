/** coalesce(): one run at a time, every request served by a run that started after it, batches as large as waits. */
import { describe, expect, it } from "vitest";
import { coalesce } from "../../src/lib/coalesce.js";

describe("coalesce", () => {
  it("serves the requests made during a run with one next run, never two at once", async () => {
    const runs: number[][] = [];
    let inFlight = 0;
    let most = 0;
    const gates: Array<() => void> = [];
    const work = coalesce(async (requests: number[]) => {
      runs.push(requests);
      most = Math.max(most, ++inFlight);
      await new Promise<void>((r) => gates.push(r));
      inFlight--;
      return requests.length;
    });

    const first = work(0); // starts a run at once
    const later = [1, 2, 3].map((n) => work(n)); // made during it: wait for the next one, together
    expect(runs).toEqual([[0]]);
    gates.shift()!();
    expect(await first).toBe(1);
    await new Promise((r) => setImmediate(r));
    expect(runs).toEqual([[0], [1, 2, 3]]);
    gates.shift()!();
    expect(await Promise.all(later)).toEqual([3, 3, 3]);
    expect(most).toBe(1);
  });

  it("gives a failure to the requests of that run only, and goes on", async () => {
    let calls = 0;
    const work = coalesce(async (requests: string[]) => {
      if (++calls === 1) throw new Error(`failed for ${requests.join(",")}`);
      return "ok";
    });
    const failed = work("a");
    const next = work("b");
    await expect(failed).rejects.toThrow("failed for a");
    await expect(next).resolves.toBe("ok");
  });
});
