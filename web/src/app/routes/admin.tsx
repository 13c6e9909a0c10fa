import { AdminPage, type AdminServer } from "../../features/admin";
import { ServerActions, ServerStatusBadge, type Server } from "../../features/servers";
import { formatAgo } from "../../lib/format";

/** The admin page, with the servers feature's status badge and actions on every server. */
export function AdminRoute() {
  return <AdminPage renderServer={(user, server) => <AdminServerRow user={user.name} server={server} />} />;
}

function AdminServerRow({ user, server: summary }: { user: string; server: AdminServer }) {
  // The admin list carries the API's full server model; AdminServer names only the fields the admin feature reads.
  const server = summary as Server;
  const label = `${user}/${server.name || "default"}`;
  return (
    <div className="admin-server">
      <span className="admin-server-name">{server.name || "default"}</span> <ServerStatusBadge server={server} />{" "}
      <span className="muted small">active {formatAgo(server.last_activity, Date.now())}</span>
      <ServerActions user={user} server={server} label={label} />
    </div>
  );
}
