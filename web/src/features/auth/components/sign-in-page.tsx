import { useId, useState, type FormEvent } from "react";
import { ErrorAlert } from "../../../components/error-alert";
import { useSignInOptions } from "../api/get-sign-in-options";
import { useSignIn } from "../api/sign-in";
import { nextFromLocation, takeLoginError } from "../login-cookies";

/**
 * The sign-in page: one button per OpenID Connect provider and the organisation-credentials form. Refusals are the
 * hub's own sentences, whether they come back from the form's request or from a redirect (a provider's callback).
 */
export function SignInPage() {
  const options = useSignInOptions();
  const signIn = useSignIn();
  const [redirectError] = useState(takeLoginError);
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const next = nextFromLocation(location.search);
  const userId = useId();
  const passwordId = useId();
  const hintId = useId();
  const directory = options.data?.password.backend === "ldap";

  function submit(e: FormEvent) {
    e.preventDefault();
    signIn.mutate({ username, password, next }, { onSuccess: (answer) => location.assign(answer.next) });
  }

  return (
    <main id="main" className="sign-in">
      <div className="card">
        <p className="brand-large">Ganymede</p>
        <h1>Sign in</h1>
        {signIn.error ? <ErrorAlert error={signIn.error} /> : redirectError && <p role="alert" className="error">{redirectError}</p>}
        {options.data && options.data.providers.length > 0 && (
          <>
            <ul className="providers">
              {options.data.providers.map((p) => (
                <li key={p.name}>
                  <a className="button primary" href={`${p.login_url}?next=${encodeURIComponent(next)}`}>
                    {p.label}
                  </a>
                </li>
              ))}
            </ul>
            <p className="divider">
              <span>or with your username and password</span>
            </p>
          </>
        )}
        <form onSubmit={submit}>
          <label htmlFor={userId}>Username</label>
          <input
            id={userId}
            name="username"
            autoComplete="username"
            autoCapitalize="none"
            spellCheck={false}
            required
            autoFocus
            aria-describedby={directory ? hintId : undefined}
            value={username}
            onChange={(e) => setUsername(e.target.value)}
          />
          {directory && (
            <p id={hintId} className="hint">
              Your organisation account: <code>alice</code>, <code>alice@domain</code> or <code>DOMAIN\alice</code>.
            </p>
          )}
          <label htmlFor={passwordId}>Password</label>
          <input
            id={passwordId}
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
          <button type="submit" className="primary" disabled={signIn.isPending || signIn.isSuccess}>
            {signIn.isPending || signIn.isSuccess ? "Signing in…" : "Sign in"}
          </button>
        </form>
      </div>
    </main>
  );
}
