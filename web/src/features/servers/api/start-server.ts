import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api } from "../../../lib/api-client";
import { serverPath } from "../server-path";
import { USERS_KEY } from "../../../lib/query-keys";

/**
 * How long to wait for the hub's answer to a start before following it on the progress stream instead. The hub
 * refuses at once (policy, bad name, already running) but answers an accepted slow start only after its
 * `slowSpawnTimeout` (10 s by default); the progress stream shows everything after acceptance, failures included.
 */
export const START_ANSWER_WAIT_MS = 1_500;

/**
 * Creates (if new) and starts a server. Resolves when the hub answered (201 ready, 202 pending) or, for a slow start,
 * once the refusal window has passed; rejects with the hub's refusal.
 */
export function startServer(user: string, server: string, options: StartOptions = {}, waitMs = START_ANSWER_WAIT_MS): Promise<void> {
  const answer = api<void>(serverPath(user, server), { method: "POST", body: options });
  // The request goes on after the wait; a failure after it surfaces on the progress stream, so it is not reported twice.
  answer.catch(() => undefined);
  return Promise.race([answer, new Promise<void>((resolve) => setTimeout(resolve, waitMs))]);
}

/**
 * The user options of a start: an environment (`profile`) and a size, as KubeSpawner names them. None: the server
 * starts as it was last started (or, new, with the default environment).
 */
export interface StartOptions {
  profile?: string;
  size?: string;
}

export function useStartServer(user: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (request: string | { server: string; options: StartOptions }) =>
      typeof request === "string" ? startServer(user, request) : startServer(user, request.server, request.options),
    onSettled: () => queryClient.invalidateQueries({ queryKey: USERS_KEY }),
  });
}
