/**
 * BinderHub's build events and the log that carries them. A build (and later the launch that follows it) is one
 * ordered stream of `{ phase, message?, imageName?, url? }`; BinderHub's clients draw the phases as steps and the
 * messages as a log, which is why every log message ends with a newline, as in BinderHub.
 *
 * A BuildLog keeps the events so that whoever subscribes late (a second launch of the same image, a reconnecting
 * browser) replays them and then follows live, like servers/progress.ts's ProgressLog does for spawns (both are lib/replay-log.ts's ReplayLog). It ends with
 * exactly one terminal event: `built` (or `ready` for a launch log) or `failed` with the reason.
 */
import { ReplayLog } from "../../lib/replay-log.js";

/** In the order a launch goes through them; `failed` can end any of them. */
export const BUILD_PHASES = ["waiting", "fetching", "building", "pushing", "built", "launching", "ready", "failed"] as const;
export type BuildPhase = (typeof BUILD_PHASES)[number];

export interface BuildEvent {
  phase: BuildPhase;
  message?: string;
  /** On `built`: the image (registry/repository:tag) the launch runs. */
  imageName?: string;
  /** On `ready`: the server's URL. */
  url?: string;
}

export type EmitBuildEvent = (event: BuildEvent) => void;

/** The phases that end a build's log; a launch log ends at `ready` instead of `built`. */
export const BUILD_TERMINAL: readonly BuildPhase[] = ["built", "failed"];
export const LAUNCH_TERMINAL: readonly BuildPhase[] = ["ready", "failed"];

export interface BuildLogOptions {
  terminal?: readonly BuildPhase[];
  /**
   * Events kept for replay. A build prints a few hundred lines; a runaway one (a postBuild in a loop) could print
   * millions, so past this many the ordinary log lines are no longer kept (nor sent) and one note says how many were
   * dropped when the phase changes or the build ends.
   */
  maxEvents?: number;
  /** Longer messages are cut (a minified file cat-ed by a build step is one "line"). */
  maxMessageLength?: number;
}

export class BuildLog extends ReplayLog<BuildEvent> {
  private readonly terminal: ReadonlySet<BuildPhase>;
  private readonly maxEvents: number;
  private readonly maxMessageLength: number;
  private dropped = 0;
  private failure: unknown;
  private settle!: (event: BuildEvent) => void;
  /** Resolves with the terminal event. */
  readonly finished: Promise<BuildEvent>;

  constructor(options: BuildLogOptions = {}) {
    super();
    this.terminal = new Set(options.terminal ?? BUILD_TERMINAL);
    this.maxEvents = options.maxEvents ?? 20_000;
    this.maxMessageLength = options.maxMessageLength ?? 4_000;
    this.finished = new Promise((resolve) => (this.settle = resolve));
  }

  get done(): boolean {
    return this.ended;
  }

  /** The terminal event, once there is one. */
  get result(): BuildEvent | undefined {
    const last = this.last;
    return last && this.terminal.has(last.phase) ? last : undefined;
  }

  /** The error behind a `failed` ending, when there was one (e.g. PolicyDenied, for callers that map it to HTTP). */
  get error(): unknown {
    return this.failure;
  }

  push(event: BuildEvent): void {
    if (this.done) return;
    const terminal = this.terminal.has(event.phase);
    const phaseChange = event.phase !== this.last?.phase;
    if (!terminal && !phaseChange && this.events.length >= this.maxEvents) {
      this.dropped++;
      return;
    }
    if (this.dropped > 0) {
      const note = `… ${this.dropped} more log lines were not kept\n`;
      this.dropped = 0;
      this.record({ phase: this.last!.phase, message: note }, false);
    }
    this.record(event, terminal);
    if (terminal) this.settle(this.events.at(-1)!);
  }

  /** Ends the log in `failed`; `error` is kept for callers that need more than the sentence. */
  fail(message: string, error?: unknown): void {
    if (this.done) return;
    this.failure = error;
    this.push({ phase: "failed", message });
  }

  private record(event: BuildEvent, terminal: boolean): void {
    const message = event.message;
    const stored =
      message !== undefined && message.length > this.maxMessageLength
        ? { ...event, message: `${message.slice(0, this.maxMessageLength)}… (cut)\n` }
        : { ...event };
    this.append(stored, terminal);
  }
}
