import { errorMessage } from "../lib/api-client";

/** An API failure in words (the hub's own sentence), announced to screen readers. */
export function ErrorAlert({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p role="alert" className="error">
      {errorMessage(error)}
    </p>
  );
}
