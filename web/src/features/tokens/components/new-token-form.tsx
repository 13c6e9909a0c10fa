import { useId, useState, type FormEvent } from "react";
import { ErrorAlert } from "../../../components/error-alert";
import { useCreateToken } from "../api/create-token";

const EXPIRIES: { label: string; seconds: number | null }[] = [
  { label: "1 hour", seconds: 3600 },
  { label: "1 day", seconds: 86_400 },
  { label: "7 days", seconds: 7 * 86_400 },
  { label: "30 days", seconds: 30 * 86_400 },
  { label: "Never", seconds: null },
];

/** Issues an API token with a note and an expiry, then shows its secret once. */
export function NewTokenForm({ user }: { user: string }) {
  const [note, setNote] = useState("");
  const [expiry, setExpiry] = useState("2");
  const create = useCreateToken(user);
  const noteId = useId();
  const expiryId = useId();

  function submit(e: FormEvent) {
    e.preventDefault();
    const choice = EXPIRIES[Number(expiry)] ?? EXPIRIES[2]!;
    create.mutate({ note: note.trim() || "Dashboard token", expiresIn: choice.seconds }, { onSuccess: () => setNote("") });
  }

  return (
    <form className="card" onSubmit={submit} aria-labelledby={`${noteId}-title`}>
      <h2 id={`${noteId}-title`}>New API token</h2>
      <label htmlFor={noteId}>Note</label>
      <input id={noteId} value={note} maxLength={1000} onChange={(e) => setNote(e.target.value)} placeholder="What is it for?" />
      <label htmlFor={expiryId}>Expires after</label>
      <select id={expiryId} value={expiry} onChange={(e) => setExpiry(e.target.value)}>
        {EXPIRIES.map((option, i) => (
          <option key={option.label} value={i}>
            {option.label}
          </option>
        ))}
      </select>
      <ErrorAlert error={create.error} />
      <button type="submit" className="primary" disabled={create.isPending}>
        Create token
      </button>
      {create.data && (
        <div className="new-secret" role="status">
          <p>
            Your new token (<strong>{create.data.note}</strong>). Copy it now: it is not shown again.
          </p>
          <code aria-label="New token secret" tabIndex={0}>
            {create.data.token}
          </code>
        </div>
      )}
    </form>
  );
}
