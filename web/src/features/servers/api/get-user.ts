import { queryOptions, useQuery } from "@tanstack/react-query";
import { api } from "../../../lib/api-client";
import type { User } from "../types";
import { USERS_KEY, USER_POLL_MS } from "../../../lib/query-keys";

/** The signed-in user, stopped servers included. */
export function getUser(signal?: AbortSignal): Promise<User> {
  return api<User>("/user?include_stopped_servers=1", { signal });
}

export const userQueryOptions = () =>
  queryOptions({ queryKey: [...USERS_KEY, "me"], queryFn: ({ signal }) => getUser(signal), refetchInterval: USER_POLL_MS });

export function useUser() {
  return useQuery(userQueryOptions());
}

/** Any user the requester may see (themself; anyone for an administrator), stopped servers included. */
export function getUserByName(name: string, signal?: AbortSignal): Promise<User> {
  return api<User>(`/users/${encodeURIComponent(name)}?include_stopped_servers=1`, { signal });
}

export function useUserByName(name: string) {
  return useQuery({
    queryKey: [...USERS_KEY, "by-name", name],
    queryFn: ({ signal }) => getUserByName(name, signal),
    refetchInterval: USER_POLL_MS,
  });
}
