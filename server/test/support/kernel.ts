/**
 * A minimal Jupyter kernel client for tests: starts a kernel through the REST API and executes code over the
 * kernel WebSocket (JSON messages, protocol 5.3), collecting stdout. Real protocol, real kernel.
 */
import { randomUUID } from "node:crypto";
import WebSocket from "ws";

export interface KernelTarget {
  /** e.g. http://127.0.0.1:8000/user/alice/work/ (trailing slash) */
  serverUrl: string;
  headers: Record<string, string>;
}

export async function startKernel(target: KernelTarget): Promise<string> {
  const res = await fetch(new URL("api/kernels", target.serverUrl), {
    method: "POST",
    headers: { ...target.headers, "content-type": "application/json" },
    body: JSON.stringify({ name: "python3" }),
    signal: AbortSignal.timeout(30_000),
  });
  if (res.status !== 201) throw new Error(`POST api/kernels answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

/** Executes `code` in the kernel and resolves with everything it printed to stdout. */
export function execute(target: KernelTarget, kernelId: string, code: string, timeoutMs = 30_000): Promise<string> {
  const wsUrl = new URL(`api/kernels/${kernelId}/channels?session_id=${randomUUID()}`, target.serverUrl);
  wsUrl.protocol = wsUrl.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(wsUrl, { headers: target.headers });
  const msgId = randomUUID();
  let stdout = "";
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no execute_reply within ${timeoutMs} ms; stdout so far: ${JSON.stringify(stdout)}`));
    }, timeoutMs);
    ws.on("unexpected-response", (_req, res) => {
      clearTimeout(timer);
      reject(new Error(`WebSocket upgrade refused with ${res.statusCode}`));
    });
    ws.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    ws.on("open", () => {
      ws.send(
        JSON.stringify({
          header: { msg_id: msgId, username: "test", session: randomUUID(), msg_type: "execute_request", version: "5.3", date: new Date().toISOString() },
          parent_header: {},
          metadata: {},
          content: { code, silent: false, store_history: false, user_expressions: {}, allow_stdin: false, stop_on_error: true },
          channel: "shell",
          buffers: [],
        }),
      );
    });
    ws.on("message", (data) => {
      const msg = JSON.parse(data.toString()) as { msg_type: string; parent_header: { msg_id?: string }; content: { name?: string; text?: string } };
      if (msg.parent_header.msg_id !== msgId) return;
      if (msg.msg_type === "stream" && msg.content.name === "stdout") stdout += msg.content.text ?? "";
      if (msg.msg_type === "status" && (msg.content as { execution_state?: string }).execution_state === "idle") {
        clearTimeout(timer);
        ws.close();
        resolve(stdout);
      }
    });
  });
}
