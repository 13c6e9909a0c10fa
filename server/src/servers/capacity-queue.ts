/**
 * Starts waiting for room in a full capacity pool (a policy's `capacity` with `whenFull: queue`), in the order they
 * came. Each waiter is checked again when a server stops or a start fails (poke()), and every `recheckMs` for what
 * the hub does not see happen (a policy reload that raises a capacity). A waiter is admitted once decide() allows it;
 * a waiter behind another one waiting for the same pool is not checked before it, so a small start cannot overtake
 * a large one forever. A waiter whose start is now refused outright (a quota of the user's own, or a pool that no
 * longer queues) fails with the reasons; one whose start is cancelled leaves the line.
 */
import type { PolicyReason } from "../errors.js";

/**
 * The check of one waiter: allowed; refused but may go on waiting; or refused for good. `pools`: the capacity pools
 * the start draws from (policy names), so that no one overtakes an earlier waiter of the same pool.
 */
export type AdmissionCheck =
  | { outcome: "allowed"; pools: string[] }
  | { outcome: "wait"; pools: string[]; reasons: PolicyReason[] }
  | { outcome: "refused"; pools: string[]; reasons: PolicyReason[] };

/** What the servers module gives for one start that waits. */
export interface QueuedStart {
  check: () => Promise<AdmissionCheck>;
  /** Its place in line changed (1: next), with why it waits (empty: behind an earlier start for the same pool). */
  onWaiting: (position: number, reasons: PolicyReason[]) => void;
  /** Admitted: called within the exclusive section, so the next check already counts this start. */
  onAdmitted: () => void;
}

interface Waiter extends QueuedStart {
  resolve: () => void;
  reject: (reasons: PolicyReason[]) => void;
  /** The last position reported, so progress shows only changes. */
  reported?: string;
}

export class CapacityQueue {
  private readonly waiting: Waiter[] = [];
  private draining?: Promise<void>;
  private again = false;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly recheckMs: number,
    /** Runs one check at a time with the hub's other admissions (no two starts take the last place). */
    private readonly exclusive: <T>(task: () => Promise<T>) => Promise<T>,
  ) {}

  /** How many starts wait. */
  get size(): number {
    return this.waiting.length;
  }

  /**
   * Waits until `check` allows the start. Rejects with the reasons when it is refused for good, and with
   * `signal`'s reason when the start is cancelled.
   */
  wait(start: QueuedStart, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        ...start,
        resolve: () => {
          signal.removeEventListener("abort", cancel);
          resolve();
        },
        reject: (reasons) => {
          signal.removeEventListener("abort", cancel);
          reject(new QueueRefusal(reasons));
        },
      };
      const cancel = () => {
        const i = this.waiting.indexOf(waiter);
        if (i !== -1) this.waiting.splice(i, 1);
        reject(signal.reason);
        this.poke();
      };
      signal.addEventListener("abort", cancel, { once: true });
      this.waiting.push(waiter);
      this.poke();
      this.timer ??= setInterval(() => this.poke(), this.recheckMs).unref();
    });
  }

  /** Checks the line again (something may have made room). */
  poke(): void {
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      if (this.again) {
        this.again = false;
        this.poke();
      }
    });
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async drain(): Promise<void> {
    const blocked = new Set<string>();
    let position = 0;
    for (const waiter of [...this.waiting]) {
      if (!this.waiting.includes(waiter)) continue; // cancelled meanwhile
      const checked = await this.exclusive(async () => {
        const result = await waiter.check();
        const behind = result.pools.some((pool) => blocked.has(pool));
        if (result.outcome === "allowed" && !behind && this.waiting.includes(waiter)) waiter.onAdmitted();
        return { result, behind };
      }).catch((err: unknown) => ({
        result: {
          outcome: "wait" as const,
          pools: [] as string[],
          reasons: [{ rule: "capacity_check", policy: "built-in", message: `the check failed: ${(err as Error).message}` }],
        },
        behind: false,
      }));
      if (!this.waiting.includes(waiter)) continue;
      const { result, behind } = checked;
      if (result.outcome === "refused" || (result.outcome === "allowed" && !behind)) {
        this.waiting.splice(this.waiting.indexOf(waiter), 1);
        if (result.outcome === "allowed") waiter.resolve();
        else waiter.reject(result.reasons);
        continue;
      }
      // Still waiting: for room, or behind an earlier start waiting for the same pool.
      position++;
      for (const pool of result.pools) blocked.add(pool);
      const reasons = result.outcome === "wait" ? result.reasons : [];
      const report = `${position}:${reasons.map((r) => r.message).join(";")}`;
      if (report !== waiter.reported) {
        waiter.reported = report;
        waiter.onWaiting(position, reasons);
      }
    }
    if (this.waiting.length === 0) this.close();
  }
}

/** A queued start refused for good while it waited. */
export class QueueRefusal extends Error {
  constructor(readonly reasons: PolicyReason[]) {
    super(reasons.map((r) => r.message).join("; "));
    this.name = "QueueRefusal";
  }
}
