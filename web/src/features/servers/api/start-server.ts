import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api } from "../../../lib/api-client";
import { serverPath } from "../server-path";

/** Creates (if new) and starts a server; resolves once the hub accepted it (201 ready, 202 follow progress). */
export function startServer(user: string, server: string): Promise<void> {
  return api<void>(serverPath(user, server), { method: "POST", body: {} });
}

export function useStartServer(user: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (server: string) => startServer(user, server),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ["user"] }),
  });
}
