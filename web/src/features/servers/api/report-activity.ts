import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api } from "../../../lib/api-client";
import { USERS_KEY } from "../../../lib/query-keys";

/** Tells the hub the server is in use now (JupyterHub's activity API), which restarts its idle countdown. */
export function reportActivity(user: string, server: string): Promise<void> {
  const now = new Date().toISOString();
  return api<void>(`/users/${encodeURIComponent(user)}/activity`, { method: "POST", body: { servers: { [server]: { last_activity: now } } } });
}

export function useReportActivity(user: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (server: string) => reportActivity(user, server),
    onSettled: () => queryClient.invalidateQueries({ queryKey: USERS_KEY }),
  });
}
