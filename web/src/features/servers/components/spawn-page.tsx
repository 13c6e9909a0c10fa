import { useEffect, useState } from "react";
import { ErrorAlert } from "../../../components/error-alert";
import { ApiError } from "../../../lib/api-client";
import { Link, ROUTES } from "../../../lib/router";
import { useUserByName } from "../api/get-user";
import { useStartServer } from "../api/start-server";
import { useProgressStream } from "../api/use-progress-stream";
import type { Server } from "../types";
import { StartProgress } from "./start-progress";

/**
 * /hub/spawn-pending/<user>/<server>: a start under way, followed on the hub's progress stream, then straight into the
 * server. A server that is already running is opened at once; a stopped one can be started here; a failed start shows
 * the hub's reason and the ways back.
 */
export function SpawnPage({ user, server: name }: { user: string; server: string }) {
  const owner = useUserByName(user);
  const server = owner.data?.servers[name];
  const label = name ? `${name}` : "the default server";
  const start = useStartServer(user);
  const [attempt, setAttempt] = useState(0);
  const starting = server?.status === "pending" && server.pending === "spawn";
  // Follow the stream while the hub says it is starting and after a start made here. A server that is not running is
  // asked too: the hub replays a start that failed (a failed first start leaves no server row, only its events).
  const notRunning = !owner.isPending && (!server || server.status === "stopped");
  const progress = useProgressStream(progressUrlOf(user, name, server), starting || attempt > 0 || notRunning, attempt);
  const failed = progress.done === "failed" || (!starting && attempt === 0 && server?.status === "stopped" && server.last_error !== null);
  const readyUrl = progress.done === "ready" ? (progress.url ?? server?.url) : server?.status === "running" && server.ready ? server.url : undefined;

  useEffect(() => {
    if (readyUrl) location.assign(readyUrl);
  }, [readyUrl]);

  if (owner.isPending) return <p role="status">Loading…</p>;
  if (owner.error) return <NotFound error={owner.error} />;
  const reason = progress.events.findLast((e) => e.failed)?.message ?? server?.last_error ?? undefined;

  return (
    <section aria-labelledby="spawn-title" className="card spawn">
      <h2 id="spawn-title">
        {readyUrl ? `Opening ${label}…` : failed ? `${capitalise(label)} did not start` : starting || attempt > 0 ? `Starting ${label}` : `${capitalise(label)} is not running`}
      </h2>
      {(starting || attempt > 0 || progress.events.length > 0) && <StartProgress name={label} state={progress} />}
      {failed && reason && (
        <p role="alert" className="error">
          {reason}
        </p>
      )}
      <ErrorAlert error={start.error} />
      <div className="actions">
        {(!server || server.status === "stopped") && !readyUrl && (
          <button
            type="button"
            className="primary"
            disabled={start.isPending}
            onClick={() => start.mutate(name, { onSuccess: () => setAttempt((n) => n + 1) })}
          >
            {failed ? "Try again" : `Start ${label}`}
          </button>
        )}
        <Link href={ROUTES.home} className="button">
          Back to Home
        </Link>
      </div>
    </section>
  );
}

function NotFound({ error }: { error: unknown }) {
  const missing = error instanceof ApiError && error.status === 404;
  return (
    <section className="card">
      {missing ? <p>There is no such server, or you may not see it.</p> : <ErrorAlert error={error} />}
      <Link href={ROUTES.home}>Back to Home</Link>
    </section>
  );
}

/** The server's progress URL; known before the server exists too (a first start of a named server). */
function progressUrlOf(user: string, name: string, server: Server | undefined): string {
  if (server) return server.progress_url;
  const u = encodeURIComponent(user);
  return name ? `/hub/api/users/${u}/servers/${encodeURIComponent(name)}/progress` : `/hub/api/users/${u}/server/progress`;
}

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
