import { useId, useState, type FormEvent } from "react";
import { ErrorAlert } from "../../../components/error-alert";
import { useEnvironments } from "../api/get-environments";
import { useStartServer, type StartOptions } from "../api/start-server";
import { EnvironmentChoice } from "./environment-choice";
import { MAX_SERVER_NAME, serverNameProblem } from "../server-name-rule";

interface NewServerFormProps {
  user: string;
  existing: readonly string[];
  /** Whether the user already has as many named servers as their policy allows (the hub still decides). */
  atLimit: boolean;
  limit: number;
  onCreated: (name: string) => void;
}

/** Creates a named server. The name is checked as it is typed; the hub's policies still have the last word. */
export function NewServerForm({ user, existing, atLimit, limit, onCreated }: NewServerFormProps) {
  const [name, setName] = useState("");
  const [options, setOptions] = useState<StartOptions>({});
  const start = useStartServer(user);
  const offer = useEnvironments(user);
  const inputId = useId();
  const ruleId = useId();
  const problemId = useId();
  const problem = serverNameProblem(name, existing);
  const showProblem = name !== "" && problem !== null;

  function submit(e: FormEvent) {
    e.preventDefault();
    if (problem) return;
    const created = name;
    start.mutate({ server: created, options }, {
      onSuccess: () => {
        onCreated(created);
        setName("");
      },
    });
  }

  return (
    <form className="card new-server" onSubmit={submit} noValidate aria-labelledby={`${inputId}-title`}>
      <h2 id={`${inputId}-title`}>New named server</h2>
      <label htmlFor={inputId}>Server name</label>
      <input
        id={inputId}
        value={name}
        onChange={(e) => {
          setName(e.target.value);
          start.reset();
        }}
        autoComplete="off"
        spellCheck={false}
        aria-invalid={showProblem}
        aria-describedby={`${ruleId}${showProblem ? ` ${problemId}` : ""}`}
      />
      <p id={ruleId} className="hint">
        Up to {MAX_SERVER_NAME} characters: lowercase letters, digits and single hyphens, starting with a letter ({name.length}/
        {MAX_SERVER_NAME}).
      </p>
      {atLimit && (
        <p className="hint" data-testid="at-limit">
          You have {limit} of {limit} named servers: the hub will refuse another until you delete one.
        </p>
      )}
      {showProblem && (
        <p id={problemId} className="error" aria-live="polite">
          {problem}
        </p>
      )}
      {offer.data && <EnvironmentChoice offer={offer.data} value={options} onChange={setOptions} />}
      <ErrorAlert error={start.error} />
      <button type="submit" className="primary" disabled={problem !== null || start.isPending}>
        {start.isPending ? "Creating…" : "Create and start"}
      </button>
    </form>
  );
}
