/**
 * Progress of one spawn: events kept in order so that a client connecting late replays them, then follows live.
 * The log ends with exactly one terminal event — `ready` (with the URL) or `failed` (with the reason) — matching
 * JupyterHub's progress event stream.
 */
export interface ProgressEvent {
  progress: number;
  message: string;
  html_message?: string;
  ready?: boolean;
  failed?: boolean;
  url?: string;
}

export class ProgressLog {
  readonly events: ProgressEvent[] = [];
  private listeners = new Set<(event: ProgressEvent) => void>();
  private finished = false;

  get done(): boolean {
    return this.finished;
  }

  get last(): ProgressEvent | undefined {
    return this.events.at(-1);
  }

  push(event: ProgressEvent): void {
    if (this.finished) return;
    // Progress never goes backwards in the stream even if a backend reports out of order.
    const floor = this.last?.progress ?? 0;
    const stamped = { ...event, progress: Math.max(floor, Math.min(100, Math.round(event.progress))) };
    this.events.push(stamped);
    if (event.ready || event.failed) this.finished = true;
    for (const listener of this.listeners) listener(stamped);
    if (this.finished) this.listeners.clear();
  }

  /** Replays past events, then yields new ones until the terminal event. */
  async *follow(signal?: AbortSignal): AsyncGenerator<ProgressEvent> {
    let index = 0;
    while (true) {
      while (index < this.events.length) yield this.events[index++]!;
      if (this.finished || signal?.aborted) return;
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.listeners.delete(wake);
          signal?.removeEventListener("abort", wake);
          resolve();
        };
        this.listeners.add(wake);
        signal?.addEventListener("abort", wake, { once: true });
      });
    }
  }
}
