import { queryOptions, useQuery } from "@tanstack/react-query";
import { api } from "../../../lib/api-client";
import type { User } from "../types";

/** How often the dashboard asks again, so servers started or culled elsewhere show up. */
export const USER_POLL_MS = 3_000;

export function getUser(signal?: AbortSignal): Promise<User> {
  return api<User>("/user?include_stopped_servers=1", { signal });
}

export const userQueryOptions = () =>
  queryOptions({ queryKey: ["user"], queryFn: ({ signal }) => getUser(signal), refetchInterval: USER_POLL_MS });

export function useUser() {
  return useQuery(userQueryOptions());
}
