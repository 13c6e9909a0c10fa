import type { Server } from "../types";

const STATUS_LABEL: Record<Server["status"], string> = {
  stopped: "Stopped",
  pending: "Starting",
  running: "Running",
  stopping: "Stopping",
};

/** The server's state as a coloured label ("Failed" when its last start failed). */
export function ServerStatusBadge({ server }: { server: Server }) {
  const failed = server.status === "stopped" && server.last_error !== null;
  return <span className={`status status-${failed ? "failed" : server.status}`}>{failed ? "Failed" : STATUS_LABEL[server.status]}</span>;
}
