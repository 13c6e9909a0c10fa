/**
 * A push reports every layer's state many times a second ("Pushing [==>   ] 12.5MB/80MB"); a person needs one line
 * now and then: how many layers are done, how many the registry had already, how much has been sent. Pure, with the
 * clock injected, so the thinning is tested without pushing anything.
 */
import type { EngineMessage } from "./engine-stream.js";

interface Layer {
  state: "waiting" | "pushing" | "done" | "existed";
  current: number;
  total: number;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${(bytes / 1000).toFixed(1)} kB`;
  if (bytes < 1_000_000_000) return `${(bytes / 1_000_000).toFixed(1)} MB`;
  return `${(bytes / 1_000_000_000).toFixed(2)} GB`;
}

export class PushProgress {
  private readonly layers = new Map<string, Layer>();
  private lastShown = -Infinity;
  private lastLine = "";
  /** From the final `aux` message. */
  digest: string | undefined;

  constructor(
    private readonly intervalMs = 2000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one message of the push stream; returns the lines worth showing for it (usually none). */
  update(message: EngineMessage): string[] {
    if (message.aux?.Digest) {
      this.digest = message.aux.Digest;
      return [];
    }
    const status = message.status;
    if (!status) return [];
    if (!message.id) {
      // "The push refers to repository [...]", "<tag>: digest: sha256:… size: 1234": once each, as they are.
      return /digest: /.test(status) ? [] : [status];
    }
    const layer = this.layers.get(message.id) ?? { state: "waiting", current: 0, total: 0 };
    this.layers.set(message.id, layer);
    if (status === "Pushing") {
      layer.state = "pushing";
      layer.current = message.progressDetail?.current ?? layer.current;
      layer.total = message.progressDetail?.total ?? layer.total;
    } else if (status === "Pushed") {
      layer.state = "done";
      layer.current = layer.total;
    } else if (status === "Layer already exists" || status.startsWith("Mounted from")) {
      layer.state = "existed";
    } else if (/^Retrying/.test(status)) {
      return [`Layer ${message.id}: ${status}`];
    }
    const finished = [...this.layers.values()].every((l) => l.state === "done" || l.state === "existed");
    const at = this.now();
    if (!finished && at - this.lastShown < this.intervalMs) return [];
    const line = this.summary();
    if (line === this.lastLine) return [];
    this.lastShown = at;
    this.lastLine = line;
    return [line];
  }

  /** "Layers: 3 of 9 pushed, 4 already in the registry; 41.2 MB of 120.5 MB sent". */
  summary(): string {
    const all = [...this.layers.values()];
    const done = all.filter((l) => l.state === "done").length;
    const existed = all.filter((l) => l.state === "existed").length;
    const sending = all.filter((l) => l.state !== "existed");
    const sent = sending.reduce((sum, l) => sum + l.current, 0);
    const total = sending.reduce((sum, l) => sum + l.total, 0);
    const bytes = total > 0 ? `; ${formatBytes(sent)} of ${formatBytes(total)} sent` : "";
    return `Layers: ${done} of ${all.length - existed} pushed, ${existed} already in the registry${bytes}`;
  }
}
