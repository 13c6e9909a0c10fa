import type { ProgressState } from "../api/use-progress-stream";

/** A start under way (or just finished): a progress bar, the hub's events in order, then a link to the server. */
export function StartProgress({ name, state }: { name: string; state: ProgressState }) {
  const label = `Starting ${name}`;
  return (
    <div className="start-progress">
      <progress max={100} value={state.progress} aria-label={label}>
        {state.progress}%
      </progress>
      <ol className="event-log" aria-live="polite" aria-label={`${label}: events`}>
        {state.events.map((event, i) => (
          <li key={i} className={event.failed ? "error" : undefined}>
            <span className="pct">{event.progress}%</span> {event.message}
          </li>
        ))}
      </ol>
      {state.done === "ready" && state.url && (
        <p>
          Ready at <a href={state.url}>{state.url}</a>
        </p>
      )}
    </div>
  );
}
