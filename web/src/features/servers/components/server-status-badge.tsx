import type { Server } from "../types";

const STATUS_LABEL: Record<Server["status"], string> = {
  stopped: "Stopped",
  pending: "Starting",
  running: "Running",
  stopping: "Stopping",
};

/** The server's state as a coloured label ("Failed" when its last start failed; its place in the stop queue). */
export function ServerStatusBadge({ server }: { server: Server }) {
  const failed = server.status === "stopped" && server.last_error !== null && !isStopFailure(server.last_error);
  const waiting = server.status === "stopping" && server.stop_queue_position ? ` (${server.stop_queue_position} in line)` : "";
  return (
    <span className={`status status-${failed ? "failed" : server.status}`}>{failed ? "Failed" : STATUS_LABEL[server.status] + waiting}</span>
  );
}

/** The hub begins `last_error` so after a failed stop (server/src/servers/stop.ts), a failed start's otherwise. */
export function isStopFailure(lastError: string): boolean {
  return lastError.startsWith("Stop failed:");
}
