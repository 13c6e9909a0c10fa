/**
 * One list-and-watch of one kind of object for the whole hub (KubeSpawner's reflector): every server reads its pod
 * from this cache and hears its events from it, so the API requests the hub makes do not grow with its servers.
 *
 * It lists once, then watches from the list's resourceVersion with bookmarks on. It reconnects on its own when the
 * API server ends the watch (they do, every few minutes), lists again when its resourceVersion is too old (410 Gone),
 * and restarts a watch that has said nothing, not even a bookmark, for `stallMs` (a silent half-open connection
 * is how KubeSpawner's reflector once stopped seeing pods on mybinder.org): the client's Watch aborts a request idle
 * for its requestTimeoutMs, which the factory sets to `stallMs`. Requests are counted for the metrics.
 */
import type { KubernetesObject, Watch } from "@kubernetes/client-node";
import type { SpawnerLogger } from "../types.js";

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

export interface WatchCacheOptions<T extends KubernetesObject> {
  /** What it watches, for logs ("pods"). */
  what: string;
  /** The collection's path, e.g. /api/v1/namespaces/hub/pods. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Lists the collection (the client's typed list call with the same selectors). */
  list(): Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>;
  watch: Watch;
  logger: SpawnerLogger;
  /** Keep objects (pods) for reads, or only pass them on (events). */
  keep: boolean;
  /**
   * The API server ends each watch after this long (its timeoutSeconds) and the cache resumes from where it was, as
   * KubeSpawner's reflector does: a connection never lives long enough to go stale unnoticed. Default 5 minutes.
   */
  watchSeconds?: number;
}

export interface WatchStats {
  lists: number;
  watches: number;
  stallRestarts: number;
}

const keyOf = (o: KubernetesObject): string => o.metadata?.name ?? "";

export class WatchCache<T extends KubernetesObject> {
  private readonly objects = new Map<string, T>();
  private readonly listeners = new Set<(type: WatchEventType, object: T) => void>();
  private resourceVersion: string | undefined;
  private current: AbortController | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private synced: Promise<void>;
  private markSynced!: () => void;
  readonly stats: WatchStats = { lists: 0, watches: 0, stallRestarts: 0 };

  constructor(private readonly o: WatchCacheOptions<T>) {
    this.synced = new Promise((resolve) => (this.markSynced = resolve));
  }

  /** Starts listing and watching; resolves once the first list is in (the cache is then complete). */
  start(): Promise<void> {
    void this.relist();
    return this.synced;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.current?.abort();
  }

  get(name: string): T | undefined {
    return this.objects.get(name);
  }

  all(): T[] {
    return [...this.objects.values()];
  }

  /** Calls `fn` for every change from now on; returns the function that stops it. */
  subscribe(fn: (type: WatchEventType, object: T) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(type: WatchEventType, object: T): void {
    if (this.o.keep) {
      if (type === "DELETED") this.objects.delete(keyOf(object));
      else this.objects.set(keyOf(object), object);
    }
    for (const fn of this.listeners) {
      try {
        fn(type, object);
      } catch (err) {
        this.o.logger.error({ err, what: this.o.what }, "watch listener failed");
      }
    }
  }

  private async relist(): Promise<void> {
    if (this.closed) return;
    try {
      this.stats.lists++;
      const list = await this.o.list();
      const seen = new Set<string>();
      for (const item of list.items) {
        seen.add(keyOf(item));
        const before = this.objects.get(keyOf(item));
        if (!this.o.keep || before?.metadata?.resourceVersion !== item.metadata?.resourceVersion) {
          this.emit(before ? "MODIFIED" : "ADDED", item);
        }
      }
      // What vanished while no watch was looking.
      for (const [name, object] of this.objects) if (!seen.has(name)) this.emit("DELETED", object);
      this.resourceVersion = list.metadata?.resourceVersion;
      this.markSynced();
      await this.watchFrom();
    } catch (err) {
      this.o.logger.warn({ err: String(err), what: this.o.what }, "listing failed; trying again");
      this.retry(() => this.relist());
    }
  }

  private async watchFrom(): Promise<void> {
    if (this.closed) return;
    this.stats.watches++;
    let ended = false;
    /** What comes next: a list (the resourceVersion is no good any more) or a watch from where this one was. */
    const end = (relist: boolean, delayMs = 1000) => {
      if (ended) return;
      ended = true;
      this.current = undefined;
      this.retry(() => (relist ? this.relist() : this.watchFrom()), delayMs);
    };
    const query: Record<string, string | boolean | number> = { allowWatchBookmarks: true, timeoutSeconds: this.o.watchSeconds ?? 300 };
    if (this.resourceVersion) query.resourceVersion = this.resourceVersion;
    if (this.o.labelSelector) query.labelSelector = this.o.labelSelector;
    if (this.o.fieldSelector) query.fieldSelector = this.o.fieldSelector;
    try {
      this.current = await this.o.watch.watch(
        this.o.path,
        query,
        (type: string, object: T & { code?: number }) => {
          if (type === "ERROR") {
            // 410 Gone: our resourceVersion is older than the API server keeps; anything else: start over as well.
            this.o.logger.debug({ what: this.o.what, code: object.code }, "watch error; listing again");
            this.current?.abort();
            end(true);
            return;
          }
          if (object.metadata?.resourceVersion) this.resourceVersion = object.metadata.resourceVersion;
          if (type === "BOOKMARK") return;
          this.emit(type as WatchEventType, object);
        },
        (err: unknown) => {
          if (this.closed) return;
          if ((err as Error | null)?.name === "TimeoutError") {
            this.stats.stallRestarts++;
            this.o.logger.warn({ what: this.o.what }, "watch stalled (nothing heard, not even a bookmark); restarting it");
          } else if (err) this.o.logger.debug({ what: this.o.what, err: String(err) }, "watch ended");
          // Refused outright (an HTTP status instead of a stream): list again rather than retry the same request.
          // Ended by the API server at timeoutSeconds (no error): the next watch goes at once.
          end(typeof (err as { statusCode?: unknown } | null)?.statusCode === "number", err ? 1000 : 0);
        },
      );
    } catch (err) {
      this.o.logger.warn({ what: this.o.what, err: String(err) }, "watch failed to start; listing again");
      end(true);
    }
  }

  private retry(next: () => Promise<void>, delayMs = 1000): void {
    if (this.closed) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void next(), delayMs);
    this.retryTimer.unref();
  }
}
