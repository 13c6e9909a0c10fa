/**
 * Unmounts through one long-lived helper process instead of an `umount` process started by the hub per stop.
 * Starting a process from the hub copies the hub's page tables while its event loop waits (25 ms for a hub holding
 * a few hundred servers): a wave of stops spent a quarter of its CPU there and stalled the API. The helper, a small
 * bash loop, starts `umount` for each mount point it reads and answers with its exit status and messages, so the
 * hub pays one start, whatever the number of stops. It is started at the first unmount and again after it dies.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";

/** Reads NUL-terminated mount points; writes "<mount point>\0<status>\0<messages>\0" for each. */
const LOOP = 'while IFS= read -r -d "" target; do out=$(umount -- "$target" 2>&1); printf "%s\\0%s\\0%s\\0" "$target" "$?" "$out"; done';

export interface UnmountResult {
  ok: boolean;
  /** What umount said (empty when it succeeded). */
  message: string;
}

export class Unmounter {
  private helper: ChildProcessWithoutNullStreams | undefined;
  private readonly waiting = new Map<string, Array<(r: UnmountResult) => void>>();
  private buffered = "";

  constructor(private readonly env: NodeJS.ProcessEnv) {}

  unmount(mountPoint: string): Promise<UnmountResult> {
    if (mountPoint.includes("\0")) return Promise.resolve({ ok: false, message: "a mount point cannot contain NUL" });
    return new Promise((resolve) => {
      const helper = this.running();
      const callers = this.waiting.get(mountPoint);
      if (callers) callers.push(resolve);
      else {
        this.waiting.set(mountPoint, [resolve]);
        helper.stdin.write(`${mountPoint}\0`);
      }
    });
  }

  private running(): ChildProcessWithoutNullStreams {
    if (this.helper) return this.helper;
    const helper = spawn("bash", ["-c", LOOP], { env: this.env, stdio: "pipe" });
    helper.stdout.setEncoding("utf8");
    helper.stdout.on("data", (chunk: string) => this.answer(chunk));
    helper.stderr.resume();
    helper.stdin.on("error", () => undefined); // a dead helper: its exit handler answers the callers
    helper.on("error", (err) => this.fail(helper, `cannot run the unmount helper: ${err.message}`));
    helper.on("exit", (code, signal) => this.fail(helper, `the unmount helper exited (${signal ?? code})`));
    // It must not keep an idle hub alive (tests, the CLI).
    helper.unref();
    (helper.stdin as unknown as { unref?: () => void }).unref?.();
    (helper.stdout as unknown as { unref?: () => void }).unref?.();
    this.helper = helper;
    return helper;
  }

  private answer(chunk: string): void {
    this.buffered += chunk;
    const fields = this.buffered.split("\0");
    // Whole answers only: three fields each; keep the rest for the next chunk.
    const complete = Math.floor((fields.length - 1) / 3) * 3;
    this.buffered = fields.slice(complete).join("\0");
    for (let i = 0; i < complete; i += 3) {
      const [target, status, message] = [fields[i]!, fields[i + 1]!, fields[i + 2]!];
      const callers = this.waiting.get(target) ?? [];
      this.waiting.delete(target);
      for (const resolve of callers) resolve({ ok: status === "0", message: message.trim() });
    }
  }

  private fail(helper: ChildProcessWithoutNullStreams, message: string): void {
    if (this.helper !== helper) return;
    this.helper = undefined;
    this.buffered = "";
    const waiting = [...this.waiting.values()].flat();
    this.waiting.clear();
    for (const resolve of waiting) resolve({ ok: false, message });
  }
}
