import { useId, useState, type FormEvent } from "react";
import { ErrorAlert } from "../../../components/error-alert";
import { useChangeShare, useShares } from "../api/shares";
import type { Share, ShareTarget } from "../types";

const targetOf = (share: Share): ShareTarget => (share.user ? { user: share.user.name } : { group: share.group!.name });
const describe = (share: Share) => (share.user ? share.user.name : `group ${share.group!.name}`);

/**
 * Who a server is shared with, and the form to share it with a user or a group, for its owner: only where their
 * policy allows sharing (`limit` > 0), or the server is shared already (a lowered policy still lets them revoke).
 */
export function SharePanel({ owner, server, label, limit }: { owner: string; server: string; label: string; limit: number }) {
  const shares = useShares(owner, server, true);
  const change = useChangeShare(owner, server);
  const [name, setName] = useState("");
  const [kind, setKind] = useState<"user" | "group">("user");
  const inputId = useId();
  const list = shares.data ?? [];
  if (limit === 0 && list.length === 0) return null;

  function submit(e: FormEvent) {
    e.preventDefault();
    const target = name.trim();
    if (!target) return;
    change.mutate({ target: kind === "user" ? { user: target } : { group: target } }, { onSuccess: () => setName("") });
  }

  return (
    <section className="share-panel" aria-label={`Sharing of ${label}`}>
      <h4>Shared with</h4>
      {list.length === 0 ? (
        <p className="muted">Nobody yet. People you share it with can use it as you do, files and kernels included.</p>
      ) : (
        <ul className="shares">
          {list.map((share) => (
            <li key={describe(share)}>
              {describe(share)}{" "}
              <button type="button" disabled={change.isPending} onClick={() => change.mutate({ target: targetOf(share), revoke: true })} aria-label={`Stop sharing ${label} with ${describe(share)}`}>
                Revoke
              </button>
            </li>
          ))}
        </ul>
      )}
      <ErrorAlert error={change.error ?? shares.error} />
      {limit > 0 && (
        <form onSubmit={submit} className="share-form">
          <select aria-label="Share with a" value={kind} onChange={(e) => setKind(e.target.value as "user" | "group")}>
            <option value="user">user</option>
            <option value="group">group</option>
          </select>
          <label htmlFor={inputId} className="sr-only">
            Name to share {label} with
          </label>
          <input id={inputId} value={name} onChange={(e) => setName(e.target.value)} placeholder={kind === "user" ? "user name" : "group name"} />
          <button type="submit" disabled={change.isPending || name.trim() === ""}>
            Share
          </button>
          <span className="muted">
            {list.length} of {limit}
          </span>
        </form>
      )}
    </section>
  );
}
