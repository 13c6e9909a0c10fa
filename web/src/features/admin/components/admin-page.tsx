import { useState, type ReactNode } from "react";
import { ErrorAlert } from "../../../components/error-alert";
import { useAllUsers } from "../api/get-users";
import type { AdminServer, AdminUser } from "../admin-user";
import { AuditTrail } from "./audit-trail";
import { PolicyExplanationView } from "./policy-explanation";
import { PolicyFiles } from "./policy-files";
import { ServerIsolation } from "./server-isolation";
import { UsersTable } from "./users-table";

/**
 * Administration: how servers are isolated, every user and server (with actions), any user's effective policy, and
 * the policy files, and the audit trail.
 */
export function AdminPage({ renderServer }: { renderServer: (user: AdminUser, server: AdminServer) => ReactNode }) {
  const users = useAllUsers();
  const [explaining, setExplaining] = useState<string>();
  return (
    <>
      <section aria-labelledby="isolation-title" className="card">
        <h2 id="isolation-title">Server isolation</h2>
        <ServerIsolation />
      </section>
      <section aria-labelledby="users-title" className="card">
        <h2 id="users-title">Users and servers</h2>
        {users.isPending ? (
          <p role="status">Loading users…</p>
        ) : users.error ? (
          <ErrorAlert error={users.error} />
        ) : (
          <UsersTable users={users.data} renderServer={renderServer} onExplain={setExplaining} explaining={explaining} />
        )}
      </section>
      <section aria-labelledby="explain-title" className="card">
        <h2 id="explain-title">Effective policy{explaining ? ` of ${explaining}` : ""}</h2>
        {explaining ? <PolicyExplanationView user={explaining} /> : <p className="muted">Choose Explain beside a user to see their limits and where each comes from.</p>}
      </section>
      <section aria-labelledby="files-title" className="card">
        <h2 id="files-title">Policy files</h2>
        <PolicyFiles />
      </section>
      <section aria-labelledby="audit-title" className="card">
        <h2 id="audit-title">Audit trail</h2>
        <AuditTrail />
      </section>
    </>
  );
}
