/**
 * At most `size` tasks at once, the others waiting in arrival order, each able to say where it stands. For work
 * that is cheap to ask for and dear to do many of at once (stopping servers: signals, process checks, unmounts).
 */
export interface SlotTicket {
  /** 1 for the next task to get a slot; undefined once it has one (or is done). */
  position(): number | undefined;
}

export class FifoSlots {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly size: number) {
    if (!(size >= 1)) throw new Error(`FifoSlots: size must be at least 1, not ${size}`);
  }

  /** Runs `task` once a slot is free; `onTicket` receives the ticket at once, before the task may have to wait. */
  async run<T>(task: () => Promise<T>, onTicket?: (ticket: SlotTicket) => void): Promise<T> {
    let wake: (() => void) | undefined;
    const ticket: SlotTicket = {
      position: () => {
        const i = wake ? this.waiting.indexOf(wake) : -1;
        return i === -1 ? undefined : i + 1;
      },
    };
    if (this.running < this.size) {
      this.running++;
      onTicket?.(ticket);
    } else {
      const turn = new Promise<void>((resolve) => (wake = resolve));
      this.waiting.push(wake!);
      onTicket?.(ticket);
      await turn; // the slot is handed over by the task that leaves it (running stays the same)
    }
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  get queued(): number {
    return this.waiting.length;
  }
}
