import { useQuery } from "@tanstack/react-query";
import { api } from "../../../lib/api-client";
import type { PolicyExplanation } from "../types";

export function getUserPolicy(name: string, signal?: AbortSignal): Promise<PolicyExplanation> {
  return api<PolicyExplanation>(`/users/${encodeURIComponent(name)}/policy`, { signal });
}

export function useUserPolicy(name: string | undefined) {
  return useQuery({
    queryKey: ["user-policy", name],
    queryFn: ({ signal }) => getUserPolicy(name!, signal),
    enabled: name !== undefined,
  });
}
