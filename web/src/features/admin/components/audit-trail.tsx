import { useState } from "react";
import { ErrorAlert } from "../../../components/error-alert";
import { formatDate } from "../../../lib/format";
import { auditQuery, useAudit } from "../api/get-audit";
import type { AuditEvent, AuditFilters } from "../types";

const NO_FILTERS: AuditFilters = { user: "", action: "", outcome: "" };

/**
 * The audit trail: who did what, refused or not, newest first, filtered by user, action (or a prefix such as
 * `server.`) and outcome, a page at a time, and exported whole as JSON lines.
 */
export function AuditTrail() {
  const [filters, setFilters] = useState(NO_FILTERS);
  const [draft, setDraft] = useState(NO_FILTERS);
  // The cursors of the pages shown before this one, so that Newer goes back.
  const [cursors, setCursors] = useState<(number | undefined)[]>([undefined]);
  const before = cursors.at(-1);
  const audit = useAudit(filters, before);
  const apply = (next: AuditFilters) => {
    setFilters(next);
    setCursors([undefined]);
  };
  return (
    <div data-testid="audit-trail">
      <form
        className="audit-filters"
        onSubmit={(e) => {
          e.preventDefault();
          apply(draft);
        }}
      >
        <label>
          User <input value={draft.user} onChange={(e) => setDraft({ ...draft, user: e.target.value })} />
        </label>
        <label>
          Action <input value={draft.action} placeholder="server." onChange={(e) => setDraft({ ...draft, action: e.target.value })} />
        </label>
        <label>
          Outcome{" "}
          <select value={draft.outcome} onChange={(e) => setDraft({ ...draft, outcome: e.target.value as AuditFilters["outcome"] })}>
            <option value="">any</option>
            <option value="ok">ok</option>
            <option value="refused">refused</option>
            <option value="failed">failed</option>
          </select>
        </label>
        <button type="submit">Filter</button>
        <a href={`/hub/api/audit?${auditQuery(filters, { format: "jsonl" })}`} download>
          Export (JSON lines)
        </a>
      </form>
      {audit.isPending ? (
        <p role="status">Loading the audit trail…</p>
      ) : audit.error ? (
        <ErrorAlert error={audit.error} />
      ) : audit.data.events.length === 0 ? (
        <p className="muted">No event{filters === NO_FILTERS ? " yet" : " matches these filters"}.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Audit trail</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Action</th>
                <th scope="col">On</th>
                <th scope="col">Outcome</th>
                <th scope="col">Why / what</th>
              </tr>
            </thead>
            <tbody>
              {audit.data.events.map((e) => (
                <tr key={e.id}>
                  <td>{formatDate(e.at)}</td>
                  <td>
                    {e.actor}
                    {e.actorKind === "admin" ? " (admin)" : ""}
                    {e.address ? <span className="muted small"> {e.address}</span> : null}
                  </td>
                  <td>
                    <code>{e.action}</code>
                  </td>
                  <td>{target(e)}</td>
                  <td className={e.outcome === "ok" ? "ok" : "error"}>
                    {e.outcome}
                    {e.status ? ` (${e.status})` : ""}
                  </td>
                  <td>{summary(e)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="audit-pages">
        <button type="button" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          Newer
        </button>
        <button type="button" disabled={audit.data?.next === undefined} onClick={() => setCursors([...cursors, audit.data!.next])}>
          Older
        </button>
      </div>
    </div>
  );
}

function target(e: AuditEvent): string {
  if (!e.user) return "—";
  return e.server === null ? e.user : `${e.user}/${e.server || "default"}`;
}

/** The event's detail in a line: a refusal's message, a stop's cause, a reload's changes, an update's fields. */
function summary(e: AuditEvent): string {
  const d = e.detail ?? {};
  if (typeof d.message === "string") return d.message;
  if (typeof d.reason === "string") return d.reason;
  if (Array.isArray(d.problems)) return `refused: ${(d.problems as string[]).join("; ")}`;
  const lists = (["added", "removed", "changed", "fields"] as const)
    .filter((k) => Array.isArray(d[k]) && (d[k] as string[]).length)
    .map((k) => `${k}: ${(d[k] as string[]).join(", ")}`);
  if (lists.length) return lists.join("; ");
  if (typeof d.via === "string") return `via ${d.via}`;
  return "";
}
