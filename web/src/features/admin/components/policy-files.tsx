import { ErrorAlert } from "../../../components/error-alert";
import { formatDate } from "../../../lib/format";
import { usePolicies } from "../api/get-policies";

/** The policy files the hub read, whether each is valid, and whether the last reload was refused. */
export function PolicyFiles() {
  const policies = usePolicies();
  if (policies.isPending) return <p role="status">Loading policy files…</p>;
  if (policies.error) return <ErrorAlert error={policies.error} />;
  const status = policies.data;
  return (
    <div data-testid="policy-files">
      <p>
        From <code>{status.dir}</code>, loaded {formatDate(status.loadedAt)}, last checked {formatDate(status.checkedAt)}. In
        force: {status.active.join(", ") || "none"}.
      </p>
      {status.lastError && (
        <div role="alert" className="error-box">
          <p>
            <strong>The last reload was refused</strong> ({formatDate(status.lastError.at)}): {status.lastError.message} The
            policies above stay in force.
          </p>
          <ul>
            {status.lastError.problems.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
        </div>
      )}
      <div className="table-wrap">
        <table>
          <caption className="sr-only">Policy files</caption>
          <thead>
            <tr>
              <th scope="col">File</th>
              <th scope="col">Policy</th>
              <th scope="col">Valid</th>
              <th scope="col">Problems</th>
            </tr>
          </thead>
          <tbody>
            {status.files.map((f) => (
              <tr key={f.file}>
                <th scope="row">
                  <code>{f.file}</code>
                </th>
                <td>{f.name ?? <span className="muted">unreadable</span>}</td>
                <td className={f.valid ? "ok" : "error"}>{f.valid ? "valid" : "invalid"}</td>
                <td>{f.problems.length ? f.problems.join("; ") : <span className="muted">—</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
