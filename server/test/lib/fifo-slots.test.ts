/** The stop queue's slots: never more than `size` at once, first come first served, positions as they move. */
import { describe, expect, it } from "vitest";
import { FifoSlots, type SlotTicket } from "../../src/lib/fifo-slots.js";

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

describe("FifoSlots", () => {
  it("runs at most `size` tasks, in arrival order, and says where each waiting one stands", async () => {
    const slots = new FifoSlots(2);
    const gates = Array.from({ length: 5 }, deferred);
    const tickets: SlotTicket[] = [];
    const started: number[] = [];
    let inFlight = 0;
    let most = 0;
    const runs = gates.map((gate, i) =>
      slots.run(
        async () => {
          started.push(i);
          most = Math.max(most, ++inFlight);
          await gate.promise;
          inFlight--;
        },
        (t) => (tickets[i] = t),
      ),
    );
    await new Promise((r) => setTimeout(r, 0));
    expect(started).toEqual([0, 1]);
    expect(tickets.map((t) => t.position())).toEqual([undefined, undefined, 1, 2, 3]);
    gates[1]!.resolve();
    await new Promise((r) => setTimeout(r, 0));
    expect(started).toEqual([0, 1, 2]);
    expect(tickets.map((t) => t.position())).toEqual([undefined, undefined, undefined, 1, 2]);
    // A newcomer while tasks wait goes to the back, even when a slot frees at that moment.
    const late = deferred();
    const lateRun = slots.run(async () => void (started.push(5), await late.promise));
    gates[0]!.resolve();
    await new Promise((r) => setTimeout(r, 0));
    expect(started).toEqual([0, 1, 2, 3]);
    for (const gate of gates) gate.resolve();
    late.resolve();
    await Promise.all([...runs, lateRun]);
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
    expect(most).toBe(2);
    expect(slots.queued).toBe(0);
  });

  it("frees the slot when a task fails", async () => {
    const slots = new FifoSlots(1);
    await expect(slots.run(async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    await expect(slots.run(async () => 42)).resolves.toBe(42);
  });
});
