import { ErrorAlert } from "../../../components/error-alert";
import { formatDuration } from "../../../lib/format";
import { useMoveDeadline } from "../api/move-deadline";
import { useReportActivity } from "../api/report-activity";
import { nextDeadline, upcomingStop } from "../stops";
import type { Server } from "../types";

const clock = (date: Date) => date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

/**
 * Warns, from `stop_warning_seconds` before, that the hub will stop this server (its maximum lifetime, or its idle
 * timeout), and offers what the policy allows: moving a lifetime stop later (up to `deadline_latest`), or telling the
 * hub the server is in use.
 */
export function StopWarning({ user, server, label, now }: { user: string; server: Server; label: string; now: number }) {
  const move = useMoveDeadline(user);
  const activity = useReportActivity(user);
  const stop = upcomingStop(server, now);
  if (!stop) return null;
  const inTime = `in ${formatDuration(stop.secondsLeft)}`;
  if (stop.kind === "idle") {
    return (
      <div className="warning" role="alert">
        <p>
          <strong>
            {label} will be stopped {inTime} if it stays idle
          </strong>{" "}
          (idle timeout {server.limits.idle_timeout}). Its storage is kept.
        </p>
        <ErrorAlert error={activity.error} />
        <button type="button" disabled={activity.isPending} onClick={() => activity.mutate(server.name)}>
          I am still using it
        </button>
      </div>
    );
  }
  const deadline = new Date(server.deadline!);
  const later = nextDeadline(server);
  return (
    <div className="warning" role="alert">
      <p>
        <strong>
          {label} will be stopped {inTime}, at {clock(deadline)}
        </strong>
        : it reaches its maximum lifetime ({server.limits.max_lifetime}
        {server.limits.lifetime_extension_seconds > 0 && ` plus up to ${formatDuration(server.limits.lifetime_extension_seconds)} more on request`}).
        Its storage is kept; save your work.
      </p>
      <ErrorAlert error={move.error} />
      {later ? (
        <button type="button" disabled={move.isPending} onClick={() => move.mutate({ server: server.name, deadline: later })}>
          Keep it until {clock(later)}
        </button>
      ) : (
        <p className="muted">Its policy allows no more time.</p>
      )}
    </div>
  );
}
