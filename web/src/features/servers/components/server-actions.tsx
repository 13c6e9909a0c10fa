import { useState } from "react";
import { ConfirmDialog } from "../../../components/confirm-dialog";
import { ErrorAlert } from "../../../components/error-alert";
import { useDeleteServer } from "../api/delete-server";
import { useStartServer } from "../api/start-server";
import { useStopServer } from "../api/stop-server";
import type { Server } from "../types";

interface ServerActionsProps {
  /** The server's owner. */
  user: string;
  server: Server;
  /** Called once the hub accepted a start (e.g. to follow it on the spawn page). */
  onStarted?: (server: string) => void;
  /** Names the server for screen readers ("Start work" rather than four "Start" buttons). */
  label: string;
}

/** What can be done with a server in its state: Start, Open, Stop, Delete (after a confirmation that says what is lost). */
export function ServerActions({ user, server, onStarted, label }: ServerActionsProps) {
  const start = useStartServer(user);
  const stop = useStopServer(user);
  const remove = useDeleteServer(user);
  const [confirming, setConfirming] = useState(false);
  const busy = start.isPending || stop.isPending || remove.isPending;
  return (
    <>
      <ErrorAlert error={start.error ?? stop.error ?? remove.error} />
      <div className="actions">
        {server.status === "stopped" && (
          <button
            type="button"
            className="primary"
            disabled={busy}
            onClick={() => start.mutate(server.name, { onSuccess: () => onStarted?.(server.name) })}
            aria-label={`Start ${label}`}
          >
            Start
          </button>
        )}
        {server.status === "running" && server.ready && (
          <a className="button primary" href={server.url} aria-label={`Open ${label}`}>
            Open
          </a>
        )}
        {(server.status === "running" || server.status === "pending") && (
          <button type="button" disabled={busy} onClick={() => stop.mutate(server.name)} aria-label={`Stop ${label}`}>
            Stop
          </button>
        )}
        {server.name !== "" && (
          <button type="button" className="danger" disabled={busy || server.status === "pending"} onClick={() => setConfirming(true)} aria-label={`Delete ${label}`}>
            Delete
          </button>
        )}
      </div>
      <ConfirmDialog
        open={confirming}
        title={`Delete ${label}?`}
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
    </>
  );
}
