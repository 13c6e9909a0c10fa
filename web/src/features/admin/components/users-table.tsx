import type { ReactNode } from "react";
import type { AdminServer, AdminUser } from "../admin-user";

interface UsersTableProps {
  users: AdminUser[];
  /** The servers feature's status badge and actions, passed in by the app (features do not import each other). */
  renderServer: (user: AdminUser, server: AdminServer) => ReactNode;
  onExplain: (user: string) => void;
  explaining?: string;
}

/** Every user with their groups and servers; each server with its state and the actions an administrator has. */
export function UsersTable({ users, renderServer, onExplain, explaining }: UsersTableProps) {
  return (
    <div className="table-wrap">
      <table className="users-table">
        <caption className="sr-only">Users, their groups and servers</caption>
        <thead>
          <tr>
            <th scope="col">User</th>
            <th scope="col">Groups</th>
            <th scope="col">Servers</th>
            <th scope="col">Policy</th>
          </tr>
        </thead>
        <tbody>
          {users.map((user) => {
            const servers = Object.values(user.servers).sort((a, b) => a.name.localeCompare(b.name));
            const named = servers.filter((s) => s.name !== "").length;
            return (
              <tr key={user.name} data-user={user.name}>
                <th scope="row">
                  {user.name}
                  {user.admin && <span className="tag">admin</span>}
                </th>
                <td>{user.groups.length ? user.groups.join(", ") : <span className="muted">none</span>}</td>
                <td>
                  <p className="muted small">
                    {named} of {user.named_server_limit} named
                  </p>
                  {servers.length === 0 ? (
                    <span className="muted">no servers</span>
                  ) : (
                    <ul className="admin-servers">
                      {servers.map((server) => (
                        <li key={server.name} data-server={`${user.name}/${server.name}`}>
                          {renderServer(user, server)}
                        </li>
                      ))}
                    </ul>
                  )}
                </td>
                <td>
                  <button type="button" aria-pressed={explaining === user.name} onClick={() => onExplain(user.name)} aria-label={`Explain the policy of ${user.name}`}>
                    Explain
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
