import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { api } from "../../../lib/api-client";
import type { LaunchLink } from "../types";

export interface LinkRequest {
  repo: string;
  ref: string;
  path: string;
}

/**
 * Asks the hub what the form's input launches: the hub parses and checks the repository the same way a launch does,
 * so the form shows its refusal (a bad scheme, credentials in the URL, a banned repository) before anything starts.
 */
export function getLaunchLink({ repo, ref, path }: LinkRequest, signal?: AbortSignal): Promise<LaunchLink> {
  const query = new URLSearchParams({ repo });
  if (ref) query.set("ref", ref);
  if (path) query.set("path", path);
  return api<LaunchLink>(`/binder/launch-link?${query}`, { signal });
}

export function useLaunchLink(request: LinkRequest) {
  return useQuery({
    queryKey: ["launch-link", request],
    queryFn: ({ signal }) => getLaunchLink(request, signal),
    enabled: request.repo.trim() !== "",
    placeholderData: keepPreviousData,
    staleTime: 60_000,
  });
}
