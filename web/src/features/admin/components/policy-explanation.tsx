import { ErrorAlert } from "../../../components/error-alert";
import { useUserPolicy } from "../api/get-user-policy";
import type { ExplainedLimit, PolicySource } from "../types";

const LIMIT_LABEL: Record<ExplainedLimit["limit"], string> = {
  namedServers: "Named servers",
  serverNameMaxLength: "Server name length",
  idleTimeout: "Idle stop after",
  storage: "Storage per server",
  cpu: "CPU per server",
  memory: "Memory per server",
  concurrentBuilds: "Binder builds at once",
  buildTimeout: "Binder build time limit",
  maxLifetime: "Lifetime stop after",
  lifetimeExtension: "Lifetime extension, at most",
};

const describe = (s: PolicySource) => `${s.policy} (${s.file}${s.priority === null ? ", default" : `, priority ${s.priority}`})`;

/** A user's effective limits and, for each, the policy that set it and the matching policies that lost. */
export function PolicyExplanationView({ user }: { user: string }) {
  const explanation = useUserPolicy(user);
  if (explanation.isPending) return <p role="status">Loading the policy of {user}…</p>;
  if (explanation.error) return <ErrorAlert error={explanation.error} />;
  const { groups, policies, limits } = explanation.data;
  return (
    <div data-testid="policy-explanation">
      <p>
        <strong>{user}</strong> is in {groups.length ? `groups ${groups.join(", ")}` : "no groups"}. Policies that apply:{" "}
        {policies.map((p) => p.name).join(", ")}.
      </p>
      <div className="table-wrap">
        <table>
          <caption className="sr-only">Effective limits of {user}</caption>
          <thead>
            <tr>
              <th scope="col">Limit</th>
              <th scope="col">Value</th>
              <th scope="col">Set by</th>
              <th scope="col">Outranked</th>
            </tr>
          </thead>
          <tbody>
            {limits.map((l) => (
              <tr key={l.limit}>
                <th scope="row">{LIMIT_LABEL[l.limit]}</th>
                <td>{l.value}</td>
                <td>{describe(l.source)}</td>
                <td>{l.outranked.length ? l.outranked.map((o) => `${o.value} from ${describe(o)}`).join("; ") : <span className="muted">—</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
