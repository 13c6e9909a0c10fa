import { useQuery } from "@tanstack/react-query";
import { api } from "../../../lib/api-client";
import { USERS_KEY } from "../../../lib/query-keys";

/** What the user may start servers as (server/openapi.yaml: `EnvironmentOffer`). */
export interface EnvironmentOffer {
  environments: {
    name: string;
    display_name: string;
    description: string | null;
    default: boolean;
    cpu: number | null;
    memory_bytes: number | null;
    gpus: number;
  }[];
  default: string | null;
  sizes: { name: string; display_name: string; cpu: number; memory_bytes: number }[];
}

export function useEnvironments(user: string) {
  return useQuery({
    queryKey: [...USERS_KEY, "environments", user],
    queryFn: ({ signal }) => api<EnvironmentOffer>(`/users/${encodeURIComponent(user)}/environments`, { signal }),
  });
}
