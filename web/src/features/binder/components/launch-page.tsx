import { useEffect, useRef, useState } from "react";
import { Link, ROUTES } from "../../../lib/router";
import { useBuildStream } from "../api/use-build-stream";
import { landingUrl, targetFromSearch } from "../landing";
import { PHASES, type Phase } from "../types";

const PHASE_LABEL: Record<(typeof PHASES)[number], string> = {
  waiting: "Waiting",
  fetching: "Fetching",
  building: "Building",
  pushing: "Pushing",
  built: "Built",
  launching: "Launching",
  ready: "Ready",
};

/**
 * /v2/<provider>/<spec>: BinderHub's launch page. Follows the build stream (phases drawn as steps, the build log as
 * it comes), then goes into the server at the requested path; on failure, the reason, the log and the ways back.
 */
export function LaunchPage({ spec, search }: { spec: string; search: string }) {
  const [attempt, setAttempt] = useState(0);
  const build = useBuildStream(`/build/${spec}`, attempt);
  const target = targetFromSearch(search);
  const destination = build.phase === "ready" && build.url ? landingUrl(build.url, target) : undefined;
  useEffect(() => {
    if (destination) location.assign(destination);
  }, [destination]);
  const failed = build.phase === "failed";
  // Keep the newest build output in view, as a terminal would.
  const logRef = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const log = logRef.current;
    if (log) log.scrollTop = log.scrollHeight;
  }, [build.log.length]);

  return (
    <section className="card launch" aria-labelledby="launch-title">
      <h2 id="launch-title">
        {failed ? "The launch failed" : destination ? "Opening the server…" : "Launching"} <code>{spec}</code>
      </h2>
      <PhaseSteps phase={build.phase} furthest={build.furthest} />
      {failed && (
        <p role="alert" className="error">
          {build.reason}
        </p>
      )}
      <details open={failed || build.phase === "building"} className="build-log-wrap">
        <summary>Build log ({build.log.length} lines)</summary>
        <pre ref={logRef} className="build-log" role="log" aria-label="Build log" tabIndex={0}>
          {build.log.join("\n")}
        </pre>
      </details>
      <div className="actions">
        {failed && (
          <button type="button" className="primary" onClick={() => setAttempt((n) => n + 1)}>
            Try again
          </button>
        )}
        <Link href={ROUTES.home} className="button">
          Back to Home
        </Link>
      </div>
    </section>
  );
}

/** The phases as a row of steps: done, current (announced), or still to come. */
function PhaseSteps({ phase, furthest }: { phase: Phase | null; furthest: number }) {
  const current = phase === "failed" ? Math.max(furthest, 0) : furthest;
  return (
    <ol className="phases" aria-label="Launch progress">
      {PHASES.map((p, i) => {
        const state = i < current || (i === current && p === "ready") ? "done" : i === current ? (phase === "failed" ? "failed" : "current") : "todo";
        return (
          <li key={p} className={`phase phase-${state}`} aria-current={state === "current" || state === "failed" ? "step" : undefined}>
            {PHASE_LABEL[p]}
            {state === "failed" && <span className="sr-only"> (failed)</span>}
          </li>
        );
      })}
    </ol>
  );
}
