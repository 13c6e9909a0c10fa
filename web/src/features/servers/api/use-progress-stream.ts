import { useEffect, useState } from "react";
import { useQueryClient } from "@tanstack/react-query";
import type { ProgressEvent } from "../types";

export interface ProgressState {
  events: ProgressEvent[];
  progress: number;
  done: "ready" | "failed" | null;
  url?: string;
}

const EMPTY: ProgressState = { events: [], progress: 0, done: null };

/**
 * Follows a server's progress stream (server-sent events, `progress_url`) after each start this page made (`startCount`
 * goes up) and while the hub says it is starting (`starting`): every event, the
 * highest progress, and how it ended. The stream is closed at its terminal event (EventSource would reconnect
 * otherwise), and the user query is refreshed then.
 */
export function useProgressStream(progressUrl: string, startCount: number, starting: boolean): ProgressState {
  const queryClient = useQueryClient();
  const [state, setState] = useState<ProgressState>(EMPTY);
  const follow = startCount > 0 || starting;
  useEffect(() => {
    if (!follow) return;
    setState(EMPTY);
    const source = new EventSource(progressUrl, { withCredentials: true });
    source.onmessage = (message: MessageEvent<string>) => {
      let event: ProgressEvent;
      try {
        event = JSON.parse(message.data) as ProgressEvent;
      } catch {
        return;
      }
      const done = event.ready ? "ready" : event.failed ? "failed" : null;
      setState((s) => ({
        events: [...s.events, event],
        progress: Math.max(s.progress, event.progress),
        done,
        url: event.url ?? s.url,
      }));
      if (done) {
        source.close();
        void queryClient.invalidateQueries({ queryKey: ["user"] });
      }
    };
    source.onerror = () => {
      source.close();
      void queryClient.invalidateQueries({ queryKey: ["user"] });
    };
    return () => source.close();
  }, [progressUrl, follow, startCount, queryClient]);
  return state;
}
