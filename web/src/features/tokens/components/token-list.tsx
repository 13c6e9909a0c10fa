import { useState } from "react";
import { ConfirmDialog } from "../../../components/confirm-dialog";
import { ErrorAlert } from "../../../components/error-alert";
import { formatDate } from "../../../lib/format";
import { useRevokeToken } from "../api/revoke-token";
import { useTokens } from "../api/get-tokens";
import type { Token } from "../types";

/** The user's API tokens (never their secrets), each revocable after a confirmation. */
export function TokenList({ user }: { user: string }) {
  const tokens = useTokens(user);
  const revoke = useRevokeToken(user);
  const [confirming, setConfirming] = useState<Token | null>(null);
  return (
    <section className="card" aria-labelledby="tokens-title">
      <h2 id="tokens-title">Your API tokens</h2>
      <ErrorAlert error={tokens.error ?? revoke.error} />
      {tokens.isPending ? (
        <p>Loading…</p>
      ) : tokens.data && tokens.data.length > 0 ? (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Note</th>
                <th scope="col">Starts with</th>
                <th scope="col">Created</th>
                <th scope="col">Expires</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {tokens.data.map((token) => (
                <tr key={token.id}>
                  <th scope="row">{token.note}</th>
                  <td>
                    <code>{token.prefix}…</code>
                  </td>
                  <td>{formatDate(token.created)}</td>
                  <td>{formatDate(token.expires_at)}</td>
                  <td>{formatDate(token.last_activity)}</td>
                  <td>
                    <button type="button" className="danger" disabled={revoke.isPending} onClick={() => setConfirming(token)}>
                      Revoke<span className="sr-only"> {token.note}</span>
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <p>No tokens.</p>
      )}
      <ConfirmDialog
        open={confirming !== null}
        title={`Revoke “${confirming?.note ?? ""}”?`}
        confirmLabel="Revoke token"
        onCancel={() => setConfirming(null)}
        onConfirm={() => {
          if (confirming) revoke.mutate(confirming.id);
          setConfirming(null);
        }}
      >
        <p>Programs using this token lose access at once.</p>
      </ConfirmDialog>
    </section>
  );
}
