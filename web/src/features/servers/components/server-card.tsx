import type { ReactNode } from "react";
import { formatAgo, formatBytes, formatDate, formatDuration } from "../../../lib/format";
import { Link, spawnPendingPath } from "../../../lib/router";
import { useNow } from "../../../lib/use-now";
import { idleSecondsLeft } from "../stops";
import type { Server } from "../types";
import { ServerActions } from "./server-actions";
import { isStopFailure, ServerStatusBadge } from "./server-status-badge";
import { StopWarning } from "./stop-warning";

interface ServerCardProps {
  user: string;
  server: Server;
  onStarted: (name: string) => void;
  /** What other features add to the card (sharing), above its actions. */
  extras?: ReactNode;
}

/** One server: its state, limits and use, and what can be done with it. */
export function ServerCard({ user, server, onStarted, extras }: ServerCardProps) {
  const now = useNow(5_000);
  const displayName = server.name || "Default server";
  const left = idleSecondsLeft(server, now);
  const headingId = `server-${server.name || "default"}`;
  return (
    <li className="card server-card" aria-labelledby={headingId}>
      <div className="card-head">
        <h3 id={headingId}>{displayName}</h3>
        <ServerStatusBadge server={server} />
      </div>
      <dl className="facts">
        <dt>Last activity</dt>
        <dd>{formatAgo(server.last_activity, now)}</dd>
        {server.status === "running" && (
          <>
            <dt>Idle stop</dt>
            <dd>{left === null ? "never" : `in ${formatDuration(left)} if idle`}</dd>
            <dt>Lifetime stop</dt>
            <dd>
              {server.deadline && server.started ? (
                <span className="storage">
                  <meter min={Date.parse(server.started)} max={Date.parse(server.deadline)} value={now} aria-hidden="true" />
                  {formatDate(server.deadline)} (maximum lifetime {server.limits.max_lifetime})
                </span>
              ) : (
                "never"
              )}
            </dd>
          </>
        )}
        {server.status === "stopped" && server.stop_reason && (
          <>
            <dt>Last stop</dt>
            <dd>
              {formatAgo(server.stopped_at, now)}: {server.stop_reason}
            </dd>
          </>
        )}
        {typeof server.user_options.profile === "string" && (
          <>
            <dt>Environment</dt>
            <dd>
              {server.user_options.profile}
              {typeof server.user_options.size === "string" && ` · size ${server.user_options.size}`}
            </dd>
          </>
        )}
        <dt>Limits</dt>
        <dd>
          {server.limits.cpu} CPU · {server.limits.memory} memory · {server.limits.storage} storage
        </dd>
        <dt>Storage used</dt>
        <dd>
          <StorageMeter used={server.storage_used_bytes} limit={server.limits.storage_bytes} label={server.limits.storage} />
        </dd>
        {server.user_options.binder && (
          <>
            <dt>Repository</dt>
            <dd>
              <code>{server.user_options.binder.repoUrl}</code> at <code>{server.user_options.binder.commit.slice(0, 12)}</code>
            </dd>
          </>
        )}
        <dt>URL</dt>
        <dd>
          <code>{server.url}</code>
        </dd>
      </dl>
      {server.status === "running" && <StopWarning user={user} server={server} label={displayName} now={now} />}
      {server.last_error && isStopFailure(server.last_error) ? (
        <p className="error">{server.last_error}</p>
      ) : (
        server.last_error && server.status === "stopped" && <p className="error">Last start failed: {server.last_error}</p>
      )}
      {server.status === "pending" && server.pending === "spawn" && (
        <p>
          <Link href={spawnPendingPath(user, server.name)}>Follow the start of {displayName}</Link>
        </p>
      )}
      {extras}
      <ServerActions user={user} server={server} label={displayName} onStarted={onStarted} />
    </li>
  );
}

/** Storage used against the limit, drawn as a meter with the numbers beside it. */
function StorageMeter({ used, limit, label }: { used: number | null; limit: number; label: string }) {
  if (used === null) return <>unknown of {label}</>;
  return (
    <span className="storage">
      <meter min={0} max={limit} low={limit * 0.75} high={limit * 0.9} optimum={0} value={used} aria-hidden="true" />
      {formatBytes(used)} of {label}
    </span>
  );
}
