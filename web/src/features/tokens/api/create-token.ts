import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api } from "../../../lib/api-client";
import type { NewToken } from "../types";

export interface CreateTokenInput {
  note: string;
  /** Lifetime in seconds; null for a token that does not expire. */
  expiresIn: number | null;
}

/** Issues a token; the answer holds the secret, shown once. */
export function createToken(user: string, input: CreateTokenInput): Promise<NewToken> {
  return api<NewToken>(`/users/${encodeURIComponent(user)}/tokens`, {
    method: "POST",
    body: { note: input.note, expires_in: input.expiresIn },
  });
}

export function useCreateToken(user: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (input: CreateTokenInput) => createToken(user, input),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ["tokens", user] }),
  });
}
