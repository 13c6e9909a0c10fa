import { useEffect, useState } from "react";
import { PHASES, type BuildEvent, type Phase } from "../types";

export interface BuildState {
  phase: Phase | null;
  /** The index in PHASES of the furthest phase reached (where a failure happened); -1 before the first event. */
  furthest: number;
  /** Log lines (build output, progress messages), in order. */
  log: string[];
  /** The message of the `failed` event. */
  reason?: string;
  url?: string;
}

export const EMPTY_BUILD: BuildState = { phase: null, furthest: -1, log: [] };

/** How many log lines the page keeps (a long pip install can print thousands). */
const MAX_LOG_LINES = 5_000;

/** Folds one event of the build stream into the state. */
export function foldBuild(state: BuildState, event: BuildEvent): BuildState {
  const lines = event.message ? event.message.replace(/\n$/, "").split("\n") : [];
  const log = [...state.log, ...lines].slice(-MAX_LOG_LINES);
  const index = event.phase === "failed" ? -1 : PHASES.indexOf(event.phase);
  return {
    phase: event.phase,
    furthest: Math.max(state.furthest, index),
    log,
    reason: event.phase === "failed" ? (event.message ?? "The launch failed.") : state.reason,
    url: event.url ?? state.url,
  };
}

/**
 * Follows `GET /build/<spec>` (server-sent events) for one launch. A new `attempt` starts a new stream. Closed at
 * `ready` or `failed`; a dropped connection is reported as a failure (EventSource would otherwise start the launch
 * again by reconnecting).
 */
export function useBuildStream(buildUrl: string, attempt: number): BuildState {
  const [state, setState] = useState<BuildState>(EMPTY_BUILD);
  useEffect(() => {
    setState(EMPTY_BUILD);
    const source = new EventSource(buildUrl, { withCredentials: true });
    let finished = false;
    source.onmessage = (message: MessageEvent<string>) => {
      let event: BuildEvent;
      try {
        event = JSON.parse(message.data) as BuildEvent;
      } catch {
        return;
      }
      setState((s) => foldBuild(s, event));
      if (event.phase === "ready" || event.phase === "failed") {
        finished = true;
        source.close();
      }
    };
    source.onerror = () => {
      source.close();
      if (!finished) setState((s) => foldBuild(s, { phase: "failed", message: "The connection to the hub was lost; the launch may still finish. Try again to follow it." }));
    };
    return () => source.close();
  }, [buildUrl, attempt]);
  return state;
}
