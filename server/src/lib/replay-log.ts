/**
 * An append-only event log that a reader joining late replays from the start and then follows live, until the log
 * ends (a terminal event). Spawn progress (servers/progress.ts) and builds (builder/build/events.ts) are both
 * streams that end with a result, forwarded to browsers as server-sent events by as many readers as ask.
 */
export class ReplayLog<E> {
  readonly events: E[] = [];
  #ended = false;
  readonly #listeners = new Set<() => void>();

  /** Whether the terminal event has been appended. */
  get ended(): boolean {
    return this.#ended;
  }

  get last(): E | undefined {
    return this.events.at(-1);
  }

  /** Appends `event` (ignored once the log has ended); `terminal` ends the log. */
  protected append(event: E, terminal: boolean): void {
    if (this.#ended) return;
    this.events.push(event);
    if (terminal) this.#ended = true;
    for (const wake of [...this.#listeners]) wake();
    if (terminal) this.#listeners.clear();
  }

  /** Replays past events, then yields new ones until the terminal event (or until `signal` aborts). */
  async *follow(signal?: AbortSignal): AsyncGenerator<E> {
    let index = 0;
    for (;;) {
      while (index < this.events.length) yield this.events[index++]!;
      if (this.#ended || signal?.aborted) return;
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.#listeners.delete(wake);
          signal?.removeEventListener("abort", wake);
          resolve();
        };
        this.#listeners.add(wake);
        signal?.addEventListener("abort", wake, { once: true });
      });
    }
  }
}
