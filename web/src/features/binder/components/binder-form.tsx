import { useId } from "react";

/**
 * The Binder form: a git repository, a ref and a path to open. Launching needs the builder (issue 5), which this hub
 * does not have yet, so the form is shown disabled with the reason.
 */
export function BinderForm() {
  const id = useId();
  return (
    <form className="card binder" aria-labelledby={`${id}-title`} aria-describedby={`${id}-why`} onSubmit={(e) => e.preventDefault()}>
      <h2 id={`${id}-title`}>Launch a repository</h2>
      <p id={`${id}-why`} className="hint">
        Launching a server built from a git repository (Binder) is not available on this hub yet.
      </p>
      <fieldset disabled>
        <label htmlFor={`${id}-repo`}>Git repository URL</label>
        <input id={`${id}-repo`} name="repo" type="url" placeholder="https://github.com/owner/repo" />
        <div className="row">
          <div>
            <label htmlFor={`${id}-ref`}>Branch, tag or commit</label>
            <input id={`${id}-ref`} name="ref" placeholder="HEAD" />
          </div>
          <div>
            <label htmlFor={`${id}-path`}>Path to open</label>
            <input id={`${id}-path`} name="path" placeholder="e.g. index.ipynb" />
          </div>
        </div>
        <button type="submit" className="primary">
          Launch
        </button>
      </fieldset>
    </form>
  );
}
