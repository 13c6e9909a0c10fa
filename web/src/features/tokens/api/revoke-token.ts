import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api } from "../../../lib/api-client";

/** Revokes a token: it stops working at once. */
export function revokeToken(user: string, id: string): Promise<void> {
  return api<void>(`/users/${encodeURIComponent(user)}/tokens/${encodeURIComponent(id)}`, { method: "DELETE" });
}

export function useRevokeToken(user: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => revokeToken(user, id),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ["tokens", user] }),
  });
}
