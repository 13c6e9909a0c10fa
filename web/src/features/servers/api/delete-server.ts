import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api } from "../../../lib/api-client";
import { serverPath } from "../server-path";
import { USERS_KEY } from "../../../lib/query-keys";

/** Stops a named server and deletes it, storage included (`{"remove": true}`). */
export function deleteServer(user: string, server: string): Promise<void> {
  return api<void>(serverPath(user, server), { method: "DELETE", body: { remove: true } });
}

export function useDeleteServer(user: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (server: string) => deleteServer(user, server),
    onSettled: () => queryClient.invalidateQueries({ queryKey: USERS_KEY }),
  });
}
