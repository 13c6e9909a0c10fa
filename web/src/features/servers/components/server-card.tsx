import { useState } from "react";
import { ConfirmDialog } from "../../../components/confirm-dialog";
import { ErrorAlert } from "../../../components/error-alert";
import { formatAgo, formatBytes, formatDuration } from "../../../lib/format";
import { useNow } from "../../../lib/use-now";
import { useDeleteServer } from "../api/delete-server";
import { useStartServer } from "../api/start-server";
import { useStopServer } from "../api/stop-server";
import { useProgressStream } from "../api/use-progress-stream";
import type { Server } from "../types";
import { StartProgress } from "./start-progress";

interface ServerCardProps {
  user: string;
  server: Server;
  /** How many times this page started the server: each start is followed on its progress stream. */
  startCount: number;
  onStarted: (name: string) => void;
}

const STATUS_LABEL: Record<Server["status"], string> = {
  stopped: "Stopped",
  pending: "Starting",
  running: "Running",
  stopping: "Stopping",
};

/** Seconds until the culler stops an idle server, or null when it never does or the server is not running. */
export function idleSecondsLeft(server: Server, now: number): number | null {
  const timeout = server.limits.idle_timeout_seconds;
  if (timeout === null || server.status !== "running") return null;
  const since = server.last_activity ?? server.started;
  if (!since) return timeout;
  return Math.max(0, timeout - (now - Date.parse(since)) / 1000);
}

/** One server: its state, limits and use, and what can be done with it. */
export function ServerCard({ user, server, startCount, onStarted }: ServerCardProps) {
  const now = useNow();
  const displayName = server.name || "Default server";
  const start = useStartServer(user);
  const stop = useStopServer(user);
  const remove = useDeleteServer(user);
  const [confirming, setConfirming] = useState(false);
  const starting = server.status === "pending" && server.pending === "spawn";
  const progress = useProgressStream(server.progress_url, startCount, starting);
  const showProgress = (startCount > 0 || starting) && progress.events.length > 0 && (server.status !== "stopped" || progress.done === "failed");
  const left = idleSecondsLeft(server, now);
  const busy = start.isPending || stop.isPending || remove.isPending;
  const headingId = `server-${server.name || "default"}`;

  return (
    <li className="card server-card" aria-labelledby={headingId}>
      <div className="card-head">
        <h3 id={headingId}>{displayName}</h3>
        <span className={`status status-${server.status}`}>{STATUS_LABEL[server.status]}</span>
      </div>
      <dl className="facts">
        <dt>Last activity</dt>
        <dd>{formatAgo(server.last_activity, now)}</dd>
        {server.status === "running" && (
          <>
            <dt>Idle stop</dt>
            <dd>{left === null ? "never" : `in ${formatDuration(left)} if idle`}</dd>
          </>
        )}
        <dt>Limits</dt>
        <dd>
          {server.limits.cpu} CPU · {server.limits.memory} memory · {server.limits.storage} storage
        </dd>
        <dt>Storage used</dt>
        <dd>
          {formatBytes(server.storage_used_bytes)} of {server.limits.storage}
        </dd>
        <dt>URL</dt>
        <dd>
          <code>{server.url}</code>
        </dd>
      </dl>
      {server.last_error && server.status === "stopped" && <p className="error">Last start failed: {server.last_error}</p>}
      {showProgress && <StartProgress name={displayName} state={progress} />}
      <ErrorAlert error={start.error ?? stop.error ?? remove.error} />
      <div className="actions">
        {server.status === "stopped" && (
          <button
            type="button"
            className="primary"
            disabled={busy}
            onClick={() => start.mutate(server.name, { onSuccess: () => onStarted(server.name) })}
          >
            Start<span className="sr-only"> {displayName}</span>
          </button>
        )}
        {server.status === "running" && server.ready && (
          <a className="button primary" href={server.url}>
            Open<span className="sr-only"> {displayName}</span>
          </a>
        )}
        {(server.status === "running" || server.status === "pending") && (
          <button type="button" disabled={busy} onClick={() => stop.mutate(server.name)}>
            Stop<span className="sr-only"> {displayName}</span>
          </button>
        )}
        {server.name !== "" && (
          <button type="button" className="danger" disabled={busy || server.status === "pending"} onClick={() => setConfirming(true)}>
            Delete<span className="sr-only"> {displayName}</span>
          </button>
        )}
      </div>
      <ConfirmDialog
        open={confirming}
        title={`Delete ${displayName}?`}
        confirmLabel="Delete server and its work"
        onCancel={() => setConfirming(false)}
        onConfirm={() => {
          setConfirming(false);
          remove.mutate(server.name);
        }}
      >
        <p>
          The server is stopped and its storage is deleted: <strong>all the work saved in it will be deleted</strong>. This
          cannot be undone.
        </p>
      </ConfirmDialog>
    </li>
  );
}
