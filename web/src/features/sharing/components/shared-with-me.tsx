import { ErrorAlert } from "../../../components/error-alert";
import { useSharedWith } from "../api/shares";

/** The servers others share with the user, with a way in to those running. Nothing when there are none. */
export function SharedWithMe({ user }: { user: string }) {
  const shared = useSharedWith(user);
  const items = shared.data ?? [];
  if (items.length === 0 && !shared.error) return null;
  return (
    <section aria-labelledby="shared-title" className="card">
      <h2 id="shared-title">Shared with you</h2>
      <ErrorAlert error={shared.error} />
      <ul className="shared-list">
        {items.map(({ server, via }) => {
          const label = `${server.user.name}/${server.name || "default"}`;
          return (
            <li key={label} data-shared={label}>
              <strong>{label}</strong>{" "}
              <span className="muted">{via.kind === "group" ? `through group ${via.name}` : "with you"}</span>{" "}
              {server.ready ? (
                <a className="button primary" href={server.url} aria-label={`Open ${label}`}>
                  Open
                </a>
              ) : (
                <span className="muted">not running</span>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
