/**
 * Prometheus metrics served at /hub/metrics. Gauges of server states are computed at scrape time from the database
 * (one grouped query), so they can never drift from the truth.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface HubMetrics {
  registry: Registry;
  spawnDuration: Histogram<string>;
  spawnFailures: Counter<"reason">;
  stopDuration: Histogram<string>;
  stopFailures: Counter<string>;
  proxiedRequests: Counter<string>;
  culls: Counter<string>;
}

export function createMetrics(
  countServers: () => Promise<Record<string, number>>,
  backendRequests: () => Array<{ resource: string; kind: string; count: number }> = () => [],
): HubMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "ganymede_process_" });
  const servers = new Gauge({
    name: "ganymede_servers",
    help: "Servers by status (running, pending, stopping, stopped).",
    labelNames: ["status"],
    registers: [registry],
    async collect() {
      const counts = await countServers();
      for (const status of ["running", "pending", "stopping", "stopped"]) this.set({ status }, counts[status] ?? 0);
    },
  });
  void servers;
  const requests = new Counter({
    name: "ganymede_backend_requests_total",
    help: "Requests the spawner backend's shared machinery has made (a cluster's lists and watches), by resource and kind.",
    labelNames: ["resource", "kind"],
    registers: [registry],
    collect() {
      this.reset();
      for (const { resource, kind, count } of backendRequests()) this.inc({ resource, kind }, count);
    },
  });
  void requests;
  return {
    registry,
    spawnDuration: new Histogram({
      name: "ganymede_spawn_duration_seconds",
      help: "Time from a start request to the server answering, for successful spawns.",
      buckets: [0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120],
      registers: [registry],
    }),
    spawnFailures: new Counter({
      name: "ganymede_spawn_failures_total",
      help: "Failed spawns by reason (timeout, exited, backend, http, unexpected).",
      labelNames: ["reason"],
      registers: [registry],
    }),
    stopDuration: new Histogram({
      name: "ganymede_stop_duration_seconds",
      help: "Time from a stop request to the server stopped (queue included), for successful stops.",
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 60, 120, 300],
      registers: [registry],
    }),
    stopFailures: new Counter({
      name: "ganymede_stop_failures_total",
      help: "Stops that failed after their retries (the server is left running or stopped with last_error set).",
      registers: [registry],
    }),
    proxiedRequests: new Counter({
      name: "ganymede_proxied_requests_total",
      help: "HTTP requests and WebSocket upgrades proxied to user servers, by response status.",
      labelNames: ["status"],
      registers: [registry],
    }),
    culls: new Counter({
      name: "ganymede_culls_total",
      help: "Servers stopped by the idle culler.",
      registers: [registry],
    }),
  };
}
