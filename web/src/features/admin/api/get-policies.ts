import { useQuery } from "@tanstack/react-query";
import { api } from "../../../lib/api-client";
import type { PolicyStatus } from "../types";

export function getPolicies(signal?: AbortSignal): Promise<PolicyStatus> {
  return api<PolicyStatus>("/policies", { signal });
}

/** Polled: the hub reloads policy files while it runs, and a broken edit should show up here without a reload. */
export function usePolicies() {
  return useQuery({ queryKey: ["policies"], queryFn: ({ signal }) => getPolicies(signal), refetchInterval: 10_000 });
}
