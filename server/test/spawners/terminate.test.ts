/**
 * How a stop decides that a server's processes are gone, with a scripted machine (the subject is terminate()'s
 * timing, not Linux): processes that exit just as the deadline passes are a success, never a failure with an empty
 * list (issue 10: a stop answered 202 and then stayed "stopping" for ever).
 */
import { describe, expect, it } from "vitest";
import type { ProcStat } from "../../src/spawners/local/proc.js";
import { terminate, type ProcessControl, type ProcessTarget } from "../../src/spawners/local/processes.js";

const target: ProcessTarget = { pid: 4242, pgid: 4242, startTime: "1", bootId: "b", spawnId: "s", cgroup: null };
const proc = (pid: number): ProcStat => ({ pid, state: "S", ppid: 1, pgrp: 4242, session: 4242, startTime: "1" });

/** A machine whose server processes are listed until `goneAt` (ms after the start), then are gone. */
function scripted(goneAt: number, pids = [4242, 4243]): ProcessControl & { signals: string[] } {
  const t0 = Date.now();
  const signals: string[] = [];
  const alive = () => Date.now() - t0 < goneAt;
  return {
    signals,
    follow: () => async () => (alive() ? pids.map(proc) : []),
    mainAlive: async () => alive(),
    signal: (pid, sig) => void signals.push(`${sig} ${pid}`),
    killCgroup: async () => false,
  };
}

describe("terminate", () => {
  it("succeeds when the processes leave during the grace period", async () => {
    const machine = scripted(120);
    await terminate(target, 1_000, machine, 500);
    expect(machine.signals).toEqual(["SIGTERM -4242"]);
  });

  it("SIGKILLs what outlives the grace period, and succeeds once it is gone", async () => {
    const machine = scripted(300);
    await terminate(target, 100, machine, 1_000);
    expect(machine.signals).toEqual(expect.arrayContaining(["SIGTERM -4242", "SIGKILL -4242", "SIGKILL 4243"]));
  });

  it("counts processes that exit while a slow look runs into the deadline as stopped, not as a failure", async () => {
    // On a loaded machine one look at the processes takes long: this one starts before the deadline, sees them
    // alive, and returns after it, by when they are gone. Only a look taken after the deadline may decide.
    const machine = scripted(120);
    const slow: ProcessControl = {
      ...machine,
      follow: (t) => {
        const look = machine.follow(t);
        return async () => {
          const seen = await look();
          await new Promise((r) => setTimeout(r, 150));
          return seen;
        };
      },
    };
    await expect(terminate(target, 0, slow, 100)).resolves.toBeUndefined();
  });

  it("fails naming the processes still there after the deadline", async () => {
    const machine = scripted(60_000);
    await expect(terminate(target, 0, machine, 150)).rejects.toThrow("server processes 4242, 4243 did not exit 0.15 s after SIGKILL");
  });
});
