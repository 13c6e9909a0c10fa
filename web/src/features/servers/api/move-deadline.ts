import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api } from "../../../lib/api-client";
import { USERS_KEY } from "../../../lib/query-keys";
import { serverPath } from "../server-path";
import type { Server } from "../types";

/** Moves a running server's lifetime stop (within what its policy allows; the hub refuses with the rule otherwise). */
export function moveDeadline(user: string, server: string, deadline: Date): Promise<Server> {
  return api<Server>(`${serverPath(user, server)}/deadline`, { method: "PUT", body: { deadline: deadline.toISOString() } });
}

export function useMoveDeadline(user: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ server, deadline }: { server: string; deadline: Date }) => moveDeadline(user, server, deadline),
    onSettled: () => queryClient.invalidateQueries({ queryKey: USERS_KEY }),
  });
}
