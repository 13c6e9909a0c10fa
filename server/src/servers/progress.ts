/**
 * Progress of one spawn: events kept in order so that a client connecting late replays them, then follows live.
 * The log ends with exactly one terminal event — `ready` (with the URL) or `failed` (with the reason) — matching
 * JupyterHub's progress event stream.
 */
import { ReplayLog } from "../lib/replay-log.js";

export interface ProgressEvent {
  progress: number;
  message: string;
  html_message?: string;
  ready?: boolean;
  failed?: boolean;
  url?: string;
}

export class ProgressLog extends ReplayLog<ProgressEvent> {
  /** @param onPush hears each event as logged (the servers module tells the other hub replicas). */
  constructor(private readonly onPush?: (event: ProgressEvent) => void) {
    super();
  }

  get done(): boolean {
    return this.ended;
  }

  push(event: ProgressEvent): void {
    // Progress never goes backwards in the stream even if a backend reports out of order.
    const floor = this.last?.progress ?? 0;
    const stamped = { ...event, progress: Math.max(floor, Math.min(100, Math.round(event.progress))) };
    if (this.done) return;
    this.append(stamped, Boolean(event.ready || event.failed));
    this.onPush?.(stamped);
  }
}
