import { useEffect, useState } from "react";
import { useQueryClient } from "@tanstack/react-query";
import type { ProgressEvent } from "../types";
import { USERS_KEY } from "../../../lib/query-keys";

export interface ProgressState {
  events: ProgressEvent[];
  progress: number;
  done: "ready" | "failed" | null;
  url?: string;
}

export const EMPTY_PROGRESS: ProgressState = { events: [], progress: 0, done: null };

/** Folds one event of the stream into the state: every event kept, the highest progress, how it ended. */
export function foldProgress(state: ProgressState, event: ProgressEvent): ProgressState {
  return {
    events: [...state.events, event],
    progress: Math.max(state.progress, event.progress),
    done: event.ready ? "ready" : event.failed ? "failed" : state.done,
    url: event.url ?? state.url,
  };
}

/**
 * Follows a server's progress stream (server-sent events at `progress_url`) while `follow` is true: a new `attempt`
 * opens a new stream. The stream is closed at its terminal event (EventSource would reconnect otherwise), and the
 * user models are refreshed then.
 */
export function useProgressStream(progressUrl: string, follow: boolean, attempt = 0): ProgressState {
  const queryClient = useQueryClient();
  const [state, setState] = useState<ProgressState>(EMPTY_PROGRESS);
  useEffect(() => {
    if (!follow) return;
    setState(EMPTY_PROGRESS);
    const source = new EventSource(progressUrl, { withCredentials: true });
    source.onmessage = (message: MessageEvent<string>) => {
      let event: ProgressEvent;
      try {
        event = JSON.parse(message.data) as ProgressEvent;
      } catch {
        return;
      }
      setState((s) => foldProgress(s, event));
      if (event.ready || event.failed) {
        source.close();
        void queryClient.invalidateQueries({ queryKey: USERS_KEY });
      }
    };
    source.onerror = () => {
      source.close();
      void queryClient.invalidateQueries({ queryKey: USERS_KEY });
    };
    return () => source.close();
  }, [progressUrl, follow, attempt, queryClient]);
  return state;
}
