import { useDeferredValue, useId, useState, type FormEvent } from "react";
import { ErrorAlert } from "../../../components/error-alert";
import { useNavigate } from "../../../lib/router";
import { useBinderStatus } from "../api/get-binder-status";
import { useLaunchLink } from "../api/get-launch-link";

/** The Binder form when the hub launches repositories; a sentence saying so when it does not. */
export function BinderSection() {
  const status = useBinderStatus();
  if (status.data?.enabled) return <BinderForm />;
  if (!status.data) return null;
  return (
    <section className="card binder" aria-labelledby="binder-off-title">
      <h2 id="binder-off-title">Launch a repository</h2>
      <p className="muted">
        This hub does not launch git repositories (Binder). An administrator can turn it on: on one machine, start the
        hub with <code>scripts/start.sh --binder</code>; elsewhere, set <code>builder.enabled</code> with the Docker
        spawner.
      </p>
    </section>
  );
}

/**
 * The Binder form: a git repository URL (or GitHub `owner/repo`), a branch, tag or commit, and a file or URL path to
 * open. The hub checks the input as it is typed and answers with the launch link and badge to share; Launch goes to
 * that link's page, which builds (if needed) and starts the server.
 */
export function BinderForm() {
  const id = useId();
  const navigate = useNavigate();
  const [repo, setRepo] = useState("");
  const [ref, setRef] = useState("");
  const [path, setPath] = useState("");
  const request = useDeferredValue({ repo, ref, path });
  const link = useLaunchLink(request);
  const ready = repo.trim() !== "" && link.data !== undefined && !link.isError && !link.isPlaceholderData;

  function submit(e: FormEvent) {
    e.preventDefault();
    if (ready) navigate(link.data.launch_path);
  }

  return (
    <form className="card binder" aria-labelledby={`${id}-title`} onSubmit={submit} noValidate>
      <h2 id={`${id}-title`}>Launch a repository</h2>
      <p className="hint">
        Builds an environment from the repository's own files (<code>requirements.txt</code>, <code>environment.yml</code>,{" "}
        <code>Dockerfile</code>, …) — only when its commit changed — and starts it as one of your named servers.
      </p>
      <label htmlFor={`${id}-repo`}>Git repository URL</label>
      <input
        id={`${id}-repo`}
        name="repo"
        type="url"
        inputMode="url"
        autoComplete="off"
        spellCheck={false}
        placeholder="https://github.com/owner/repo"
        value={repo}
        aria-invalid={link.isError}
        onChange={(e) => setRepo(e.target.value)}
      />
      <div className="row">
        <div>
          <label htmlFor={`${id}-ref`}>Branch, tag or commit</label>
          <input id={`${id}-ref`} name="ref" autoComplete="off" spellCheck={false} placeholder="HEAD" value={ref} onChange={(e) => setRef(e.target.value)} />
        </div>
        <div>
          <label htmlFor={`${id}-path`}>File or URL path to open</label>
          <input id={`${id}-path`} name="path" autoComplete="off" spellCheck={false} placeholder="e.g. index.ipynb" value={path} onChange={(e) => setPath(e.target.value)} />
        </div>
      </div>
      <ErrorAlert error={repo.trim() ? link.error : null} />
      {ready && (
        <div className="share" data-testid="share">
          <p>
            <span className="muted">Share this launch link:</span> <code>{link.data.launch_url}</code>
          </p>
          <p>
            <span className="muted">Badge for a README:</span> <code>{link.data.badge_markdown}</code>
          </p>
        </div>
      )}
      <button type="submit" className="primary" disabled={!ready}>
        Launch
      </button>
    </form>
  );
}
