import { queryOptions, useQuery } from "@tanstack/react-query";
import { api } from "../../../lib/api-client";
import type { Token } from "../types";

export async function getTokens(user: string, signal?: AbortSignal): Promise<Token[]> {
  const body = await api<{ api_tokens: Token[] }>(`/users/${encodeURIComponent(user)}/tokens`, { signal });
  return body.api_tokens;
}

export const tokensQueryOptions = (user: string) =>
  queryOptions({ queryKey: ["tokens", user], queryFn: ({ signal }) => getTokens(user, signal) });

export function useTokens(user: string) {
  return useQuery(tokensQueryOptions(user));
}
