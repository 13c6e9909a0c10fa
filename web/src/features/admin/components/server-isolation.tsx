import { ErrorAlert } from "../../../components/error-alert";
import { useHubInfo } from "../api/get-hub-info";

/**
 * How users' servers are kept apart, from the hub itself. Weak isolation (a hub that is not root, isolation: none,
 * no sandbox or no cgroups) is an alert at the top of the page, not a line in a log nobody reads.
 */
export function ServerIsolation() {
  const info = useHubInfo();
  if (info.isPending) return <p role="status">Loading how servers are isolated…</p>;
  if (info.error) return <ErrorAlert error={info.error} />;
  const { isolation } = info.data.spawner;
  return (
    <>
      <p>{isolation.summary}</p>
      {isolation.warnings.length > 0 && (
        <div role="alert" className="warning">
          <strong>{isolation.separated ? "Weaker than it should be:" : "Users' servers are not kept apart:"}</strong>
          <ul>
            {isolation.warnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </div>
      )}
    </>
  );
}
