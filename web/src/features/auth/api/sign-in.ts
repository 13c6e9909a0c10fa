import { useMutation } from "@tanstack/react-query";
import { hubRequest, readCookie } from "../../../lib/api-client";
import { LOGIN_XSRF_COOKIE } from "../login-cookies";

export interface Credentials {
  username: string;
  password: string;
  next: string;
}

/**
 * Posts the credentials as JSON to /hub/login with the sign-in page's double-submit token; the hub sets the session
 * cookies and answers where to go next (or its refusal, as an ApiError).
 */
export function signIn(credentials: Credentials): Promise<{ next: string }> {
  const xsrf = readCookie(LOGIN_XSRF_COOKIE) ?? "";
  return hubRequest<{ next: string }>("/hub/login", { method: "POST", body: { ...credentials, _xsrf: xsrf } });
}

export function useSignIn() {
  return useMutation({ mutationFn: signIn });
}
