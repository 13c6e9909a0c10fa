import { useQuery } from "@tanstack/react-query";
import { api } from "../../../lib/api-client";

/** Whether this hub launches repositories (`builder.enabled`); it does not change while the hub runs. */
export function useBinderStatus() {
  return useQuery({
    queryKey: ["binder-status"],
    queryFn: ({ signal }) => api<{ enabled: boolean }>("/binder", { signal }),
    staleTime: Infinity,
  });
}
