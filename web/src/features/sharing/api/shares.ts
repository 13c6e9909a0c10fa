import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api } from "../../../lib/api-client";
import { USERS_KEY, USER_POLL_MS } from "../../../lib/query-keys";
import type { Share, SharedServer, ShareTarget } from "../types";

/** `/shares/<owner>/<server>`; the default server is `/shares/<owner>/`. */
const sharesPath = (owner: string, server: string) => `/shares/${encodeURIComponent(owner)}/${encodeURIComponent(server)}`;

// Under USERS_KEY, so that a start, stop or delete (which invalidates it) refreshes them too.
const sharesKey = (owner: string, server: string) => [...USERS_KEY, "shares", owner, server] as const;
const sharedKey = (user: string) => [...USERS_KEY, "shared-with", user] as const;

export function useShares(owner: string, server: string, enabled: boolean) {
  return useQuery({
    queryKey: sharesKey(owner, server),
    queryFn: ({ signal }) => api<{ items: Share[] }>(sharesPath(owner, server), { signal }).then((page) => page.items),
    enabled,
  });
}

/** Shares the server with a user or group, or revokes one share (PATCH, as in JupyterHub). */
export function useChangeShare(owner: string, server: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ target, revoke }: { target: ShareTarget; revoke?: boolean }) =>
      api<Share | undefined>(sharesPath(owner, server), { method: revoke ? "PATCH" : "POST", body: target }),
    onSettled: () => queryClient.invalidateQueries({ queryKey: sharesKey(owner, server) }),
  });
}

/** The servers shared with `user`. */
export function useSharedWith(user: string) {
  return useQuery({
    queryKey: sharedKey(user),
    queryFn: ({ signal }) => api<{ items: SharedServer[] }>(`/users/${encodeURIComponent(user)}/shared`, { signal }).then((page) => page.items),
    refetchInterval: USER_POLL_MS,
  });
}
