import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api } from "../../../lib/api-client";
import { serverPath } from "../server-path";
import { USERS_KEY } from "../../../lib/query-keys";

/** Stops a server and keeps its storage. */
export function stopServer(user: string, server: string): Promise<void> {
  return api<void>(serverPath(user, server), { method: "DELETE" });
}

export function useStopServer(user: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (server: string) => stopServer(user, server),
    onSettled: () => queryClient.invalidateQueries({ queryKey: USERS_KEY }),
  });
}
