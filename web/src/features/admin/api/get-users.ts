import { useQuery } from "@tanstack/react-query";
import { api } from "../../../lib/api-client";
import { USERS_KEY, USER_POLL_MS } from "../../../lib/query-keys";
import type { AdminUser } from "../admin-user";

const PAGE = 200;

/** Every user with all their servers, a page at a time (the API's largest page). */
export async function getAllUsers(signal?: AbortSignal): Promise<AdminUser[]> {
  const users: AdminUser[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const page = await api<AdminUser[]>(`/users?include_stopped_servers=1&offset=${offset}&limit=${PAGE}`, { signal });
    users.push(...page);
    if (page.length < PAGE) return users;
  }
}

export function useAllUsers() {
  return useQuery({ queryKey: [...USERS_KEY, "all"], queryFn: ({ signal }) => getAllUsers(signal), refetchInterval: USER_POLL_MS });
}
