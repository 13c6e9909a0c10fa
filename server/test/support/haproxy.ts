/**
 * A real load balancer for the hub replicas' tests: Debian's HAProxy on loopback, round robin over the replicas,
 * each checked at /hub/health every 300 ms (a draining replica answers 503 and gets no new requests). A request
 * whose connection fails or gets no answer is retried once on another replica, as a production HAProxy or ingress
 * in front of a JupyterHub-style service would be set up.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { canConnect, freePort } from "./service-process.js";

export interface LoadBalancer {
  url: string;
  stop(): Promise<void>;
}

export async function startHaproxy(backends: { name: string; port: number }[]): Promise<LoadBalancer> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), "ganymede-haproxy-"));
  const config = path.join(dir, "haproxy.cfg");
  writeFileSync(
    config,
    [
      "global",
      "  maxconn 2000",
      "defaults",
      "  mode http",
      "  timeout connect 1s",
      "  timeout client 60s",
      "  timeout server 60s",
      "  timeout tunnel 1h",
      "  retries 2",
      "  option redispatch 1",
      "  retry-on conn-failure empty-response response-timeout",
      "frontend hub",
      `  bind 127.0.0.1:${port}`,
      "  default_backend replicas",
      "backend replicas",
      "  balance roundrobin",
      "  option httpchk GET /hub/health",
      "  http-check expect status 200",
      ...backends.map((b) => `  server ${b.name} 127.0.0.1:${b.port} check inter 300 fall 1 rise 1`),
      "",
    ].join("\n"),
  );
  const child: ChildProcess = spawn("/usr/sbin/haproxy", ["-f", config, "-db"], { stdio: ["ignore", "ignore", process.env.GANYMEDE_TEST_LOG ? "inherit" : "ignore"] });
  const deadline = Date.now() + 10_000;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error("haproxy did not start (is Debian's haproxy installed? scripts/setup.sh --for-tests)");
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGKILL");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
