import { queryOptions, useQuery } from "@tanstack/react-query";
import { hubRequest } from "../../../lib/api-client";

/** What the sign-in page offers (server/openapi.yaml, `SignInOptions`). */
export interface SignInOptions {
  password: { backend: string };
  providers: { name: string; label: string; login_url: string }[];
}

export const signInOptionsQuery = () =>
  queryOptions({
    queryKey: ["sign-in-options"],
    queryFn: ({ signal }) => hubRequest<SignInOptions>("/hub/login/options", { signal }),
    staleTime: Infinity,
  });

export function useSignInOptions() {
  return useQuery(signInOptionsQuery());
}
