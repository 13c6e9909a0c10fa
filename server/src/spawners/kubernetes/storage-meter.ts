/**
 * What a server's claim holds, measured where the claim is mounted: `du` in the server's running container, through
 * the API server (pods/exec). The kubelet's volume stats would need nodes/proxy, which opens every pod on the node to
 * the hub, and report the whole filesystem for hostPath- or NFS-backed volumes; `du` counts the server's own files on
 * any storage class.
 *
 * One measurement per server a minute at most (a dashboard asks on every load), one at a time per server; the last
 * one is answered while the server is stopped (nothing can write to its claim then) and forgotten with the claim.
 * Without pods/exec in the hub's Role, usage is unknown and the hub says once why.
 */
import { Exec, type KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { Writable } from "node:stream";
import { apiStatus } from "../../engines/kubernetes.js";
import type { SpawnerLogger } from "../types.js";
import { CONTAINER, STORAGE_VOLUME } from "./manifests.js";

const FRESH_MS = 60_000;
const EXEC_TIMEOUT_MS = 15_000;

export class StorageMeter {
  private readonly exec: Exec;
  private readonly measured = new Map<string, { bytes: number; at: number }>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private refused = false;

  constructor(
    kc: KubeConfig,
    private readonly namespace: string,
    private readonly log: SpawnerLogger,
  ) {
    this.exec = new Exec(kc);
  }

  /** The bytes the claim of `pod` holds: measured now if the pod runs and the last measure is stale, else the last. */
  async used(pod: V1Pod | undefined, name: string): Promise<number | undefined> {
    const last = this.measured.get(name);
    const mountPoint = pod?.spec?.containers.find((c) => c.name === CONTAINER)?.volumeMounts?.find((m) => m.name === STORAGE_VOLUME)?.mountPath;
    const running = pod?.status?.phase === "Running" && !pod.metadata?.deletionTimestamp;
    if (this.refused || !running || !mountPoint || (last && Date.now() - last.at < FRESH_MS)) return last?.bytes;
    let measuring = this.inFlight.get(name);
    if (!measuring) {
      measuring = this.measure(name, mountPoint).finally(() => this.inFlight.delete(name));
      this.inFlight.set(name, measuring);
    }
    await measuring;
    return this.measured.get(name)?.bytes;
  }

  forget(name: string): void {
    this.measured.delete(name);
  }

  private async measure(name: string, mountPoint: string): Promise<void> {
    try {
      const out = await this.run(name, ["du", "-s", "-x", "-k", "--", mountPoint]);
      const kib = Number(/^(\d+)\s/.exec(out)?.[1]);
      if (Number.isFinite(kib)) this.measured.set(name, { bytes: kib * 1024, at: Date.now() });
    } catch (err) {
      // The exec's WebSocket handshake fails with the API server's status in its message.
      if (apiStatus(err) === 403 || /\b403\b|forbidden/i.test(String(err))) {
        this.refused = true;
        this.log.warn({ err: String(err) }, "storage used is not reported: the hub's Role lacks pods/exec (get, create)");
      } else {
        this.log.debug({ pod: name, err: String(err) }, "storage use not measured");
      }
    }
  }

  /** Runs `command` in the server's container; resolves its standard output when it exits with 0. */
  private run(pod: string, command: string[]): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      let stdout = "";
      let stderr = "";
      let settled = false;
      let socket: { close(): void; on(event: "close", listener: () => void): unknown } | undefined;
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket?.close();
        outcome();
      };
      const timer = setTimeout(() => settle(() => reject(new Error(`${command[0]} did not finish in ${EXEC_TIMEOUT_MS / 1000} s`))), EXEC_TIMEOUT_MS);
      const sink = (append: (text: string) => void) =>
        new Writable({
          write(chunk: Buffer, _encoding, done) {
            append(chunk.toString("utf8"));
            done();
          },
        });
      this.exec
        .exec(this.namespace, pod, CONTAINER, command, sink((t) => (stdout += t)), sink((t) => (stderr += t)), null, false, (status) =>
          settle(() => (status.status === "Success" ? resolve(stdout) : reject(new Error(`${command.join(" ")}: ${status.message ?? ""} ${stderr.trim()}`)))),
        )
        .then(
          (ws) => {
            socket = ws;
            ws.on("close", () => settle(() => reject(new Error(`${command[0]} ended without an exit status`))));
          },
          (err: unknown) => settle(() => reject(err)),
        );
    });
  }
}
