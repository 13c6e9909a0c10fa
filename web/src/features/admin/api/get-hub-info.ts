import { useQuery } from "@tanstack/react-query";
import { api } from "../../../lib/api-client";
import type { HubInfo } from "../types";

export function getHubInfo(signal?: AbortSignal): Promise<HubInfo> {
  return api<HubInfo>("/info", { signal });
}

/** Asked once per visit: how servers are isolated is decided when the hub starts. */
export function useHubInfo() {
  return useQuery({ queryKey: ["hub-info"], queryFn: ({ signal }) => getHubInfo(signal), staleTime: 60_000 });
}
