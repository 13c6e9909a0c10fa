/**
 * Which builds run now. Builds are expensive (CPU, disk, network), so the hub runs at most `maxConcurrentBuilds` at
 * once and queues the rest in arrival order, telling each queued build where it stands ("2 builds ahead of this
 * one"). On top of that each user's policy caps their own builds (the policy engine's `concurrentBuilds` rule, asked
 * with the number running or queued), and each build has the starter's policy `buildTimeout`, counted from the moment
 * it leaves the queue.
 *
 * A build is identified by its image: asking for an image that is being checked or built joins that build's log,
 * whoever asked first, so two launches of one commit build once. The build is cancelled only when everybody who
 * asked for it has gone (their signals aborted); a caller that passes no signal keeps it alive.
 */
import { HubError, PolicyDenied, type PolicyReason } from "../../errors.js";
import { abortReason, BuildFailedError, timeoutError } from "./errors.js";
import { BUILD_TERMINAL, BuildLog, type BuildEvent, type EmitBuildEvent } from "./events.js";

export interface BuildLimits {
  /** The user's policy `buildTimeout`, in milliseconds. */
  buildTimeoutMs: number;
  /**
   * The policy's answer to "may this user start a build while `builds` of theirs are running or waiting?": no
   * reasons when they may (PolicyEngine.mayLaunchRepository with `current.builds`, which owns `concurrentBuilds`).
   */
  admit(builds: number): PolicyReason[];
}

export interface BuildTask {
  /** The image the build makes: the identity that concurrent requests share. */
  image: string;
  /** Who asked first: the build counts against their limits. */
  user: string;
  limits: BuildLimits;
  /** Checked before queueing and outside the limits: true when there is nothing to build (the registry has it). */
  isBuilt?(signal: AbortSignal): Promise<boolean>;
  /** The build, once a slot is free: emits progress (terminal events are the queue's), resolves when pushed. */
  run(signal: AbortSignal, emit: EmitBuildEvent): Promise<void>;
}

export interface BuildQueueOptions {
  maxConcurrentBuilds: number;
  /** Failures that are not the hub's own error classes (bugs); the person launching sees a general sentence. */
  onUnexpectedError?: (err: unknown, task: Pick<BuildTask, "image" | "user">) => void;
}

type State = "checking" | "queued" | "running" | "done";

class Entry {
  state: State = "checking";
  readonly log = new BuildLog();
  readonly controller = new AbortController();
  /** Set when the build got a slot (so the slot is given back exactly once). */
  started = false;
  /** The queue position last announced. */
  position: number | undefined;
  settled: Promise<void> = Promise.resolve();
  begin: (() => void) | undefined;
  private waiters = 0;
  private pinned = false;
  private readonly detach: (() => void)[] = [];

  constructor(readonly task: BuildTask) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Someone (else) waits for this build; it is cancelled once every such signal has aborted. */
  join(signal: AbortSignal | undefined): void {
    if (!signal) {
      this.pinned = true;
      return;
    }
    if (signal.aborted) return this.checkInterest();
    this.waiters++;
    const leave = () => {
      this.waiters--;
      this.checkInterest();
    };
    signal.addEventListener("abort", leave, { once: true });
    this.detach.push(() => signal.removeEventListener("abort", leave));
  }

  release(): void {
    for (const detach of this.detach.splice(0)) detach();
  }

  private checkInterest(): void {
    if (this.pinned || this.waiters > 0 || this.state === "done") return;
    this.controller.abort(new BuildFailedError("cancelled", "The build was cancelled: nobody is waiting for it any more"));
  }
}

const UNEXPECTED = "The build failed because of an error in the hub; an administrator can find it in the hub's log.";

export class BuildQueue {
  private readonly builds = new Map<string, Entry>();
  private readonly waiting: Entry[] = [];
  private runningCount = 0;

  constructor(private readonly options: BuildQueueOptions) {
    if (!(options.maxConcurrentBuilds >= 1)) throw new Error("maxConcurrentBuilds must be at least 1");
  }

  /**
   * The log of the build of `task.image`: the one in progress if there is one (the task is then not used), else a
   * new one that checks, waits for a slot, runs and ends in `built` or `failed`.
   */
  ensure(task: BuildTask, signal?: AbortSignal): BuildLog {
    const current = this.builds.get(task.image);
    if (current && !current.signal.aborted) {
      current.join(signal);
      return current.log;
    }
    const entry = new Entry(task);
    this.builds.set(task.image, entry);
    entry.join(signal);
    // A cancelled build of the same image may still be removing its partial tag: start after it.
    entry.settled = this.drive(entry, current?.settled);
    return entry.log;
  }

  /** The log of the build of `image` in progress, if any. */
  active(image: string): BuildLog | undefined {
    return this.builds.get(image)?.log;
  }

  /** How many of `user`'s builds are running or waiting. */
  buildsOf(user: string): number {
    return [...this.builds.values()].filter((e) => e.task.user === user && (e.state === "queued" || e.state === "running")).length;
  }

  get running(): number {
    return this.runningCount;
  }

  get queued(): number {
    return this.waiting.length;
  }

  private async drive(entry: Entry, previous: Promise<void> | undefined): Promise<void> {
    const { task, log, signal } = entry;
    const emit = (event: BuildEvent) => {
      if (!BUILD_TERMINAL.includes(event.phase)) log.push(event);
    };
    let timer: NodeJS.Timeout | undefined;
    try {
      await previous;
      if (signal.aborted) throw abortReason(signal);
      if (task.isBuilt && (await task.isBuilt(signal))) {
        log.push({ phase: "built", imageName: task.image, message: `Found ${task.image} in the registry: nothing to build\n` });
        return;
      }
      const refusals = task.limits.admit(this.buildsOf(task.user));
      if (refusals.length > 0) throw new PolicyDenied(refusals);
      await this.slot(entry);
      const limit = task.limits.buildTimeoutMs;
      timer = setTimeout(() => entry.controller.abort(timeoutError(limit)), limit);
      await task.run(signal, emit);
      log.push({ phase: "built", imageName: task.image, message: `Built ${task.image}\n` });
    } catch (err) {
      const error = signal.aborted ? abortReason(signal) : err;
      if (error instanceof HubError) {
        log.fail(`${error.message}${error.message.endsWith("\n") ? "" : "\n"}`, error);
      } else {
        this.options.onUnexpectedError?.(error, task);
        log.fail(`${UNEXPECTED}\n`, error);
      }
    } finally {
      clearTimeout(timer);
      if (entry.started) this.runningCount--;
      entry.state = "done";
      entry.release();
      if (this.builds.get(task.image) === entry) this.builds.delete(task.image);
      this.pump();
    }
  }

  /** Resolves when `entry` may run; rejects if its signal aborts while it waits. */
  private slot(entry: Entry): Promise<void> {
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const index = this.waiting.indexOf(entry);
        if (index >= 0) this.waiting.splice(index, 1);
        reject(abortReason(entry.signal));
        this.announce();
      };
      entry.begin = () => {
        entry.signal.removeEventListener("abort", onAbort);
        resolve();
      };
      entry.signal.addEventListener("abort", onAbort, { once: true });
      entry.state = "queued";
      this.waiting.push(entry);
      this.pump();
    });
  }

  private pump(): void {
    while (this.runningCount < this.options.maxConcurrentBuilds && this.waiting.length > 0) {
      const next = this.waiting.shift()!;
      this.runningCount++;
      next.started = true;
      next.state = "running";
      next.begin?.();
    }
    this.announce();
  }

  /** Tells every queued build its place when it changed. */
  private announce(): void {
    const max = this.options.maxConcurrentBuilds;
    this.waiting.forEach((entry, ahead) => {
      if (entry.position === ahead) return;
      entry.position = ahead;
      const where =
        ahead === 0
          ? "this build is next"
          : `${ahead} ${ahead === 1 ? "build" : "builds"} ahead of this one`;
      entry.log.push({
        phase: "waiting",
        message: `Waiting for a free build slot: ${where} (${this.runningCount} running, at most ${max} at once)\n`,
      });
    });
  }
}
