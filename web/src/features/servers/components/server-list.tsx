import { ErrorAlert } from "../../../components/error-alert";
import { spawnPendingPath, useNavigate } from "../../../lib/router";
import { useStartServer } from "../api/start-server";
import type { ReactNode } from "react";
import type { Server, User } from "../types";
import { NewServerForm } from "./new-server-form";
import { QuotaUse } from "./quota-use";
import { ServerCard } from "./server-card";

/**
 * The user's servers (default first, then by name), how many of the allowed named servers are used, and the form to
 * create one. Every start goes to the spawn page, which follows it into the server.
 */
export function ServerList({ user, serverExtras }: { user: User; serverExtras?: (server: Server) => ReactNode }) {
  const navigate = useNavigate();
  const follow = (name: string) => navigate(spawnPendingPath(user.name, name));
  const servers = Object.values(user.servers).sort((a, b) => (a.name === "" ? -1 : b.name === "" ? 1 : a.name.localeCompare(b.name)));
  const named = servers.filter((s) => s.name !== "").map((s) => s.name);
  const limit = user.named_server_limit;
  return (
    <>
      <section aria-labelledby="servers-title">
        <div className="section-head">
          <h2 id="servers-title">Your servers</h2>
          <p className="muted" data-testid="named-count">
            {named.length} of {limit} named servers used
          </p>
        </div>
        <QuotaUse quotas={user.quotas} />
        <ul className="server-list">
          {!user.servers[""] && <DefaultServerCard user={user.name} onStarted={follow} />}
          {servers.map((server) => (
            <ServerCard key={server.name} user={user.name} server={server} onStarted={follow} extras={serverExtras?.(server)} />
          ))}
        </ul>
      </section>
      <NewServerForm user={user.name} existing={named} atLimit={named.length >= limit} limit={limit} onCreated={follow} />
    </>
  );
}

/** The default server before its first start: the hub creates it then. */
function DefaultServerCard({ user, onStarted }: { user: string; onStarted: (name: string) => void }) {
  const start = useStartServer(user);
  return (
    <li className="card server-card" aria-labelledby="server-default">
      <div className="card-head">
        <h3 id="server-default">Default server</h3>
        <span className="status status-stopped">Not started yet</span>
      </div>
      <p>Your default server is created the first time you start it.</p>
      <ErrorAlert error={start.error} />
      <div className="actions">
        <button type="button" className="primary" disabled={start.isPending} onClick={() => start.mutate("", { onSuccess: () => onStarted("") })} aria-label="Start Default server">
          Start
        </button>
      </div>
    </li>
  );
}
