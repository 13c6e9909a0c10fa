import { readCookie } from "../../lib/api-client";

/** The sign-in form's double-submit token, set by the hub with the page (server/src/http/pages.ts). */
export const LOGIN_XSRF_COOKIE = "ganymede-login-xsrf";
/** The hub's sentence after a refusal that came back as a page (a form post, an OpenID Connect callback). */
const LOGIN_ERROR_COOKIE = "ganymede-login-error";

/** Reads the refusal the hub left for this page, once: the cookie is cleared so a reload does not show it again. */
export function takeLoginError(): string | undefined {
  const message = readCookie(LOGIN_ERROR_COOKIE);
  if (message !== undefined) document.cookie = `${LOGIN_ERROR_COOKIE}=; Max-Age=0; Path=/hub/login; SameSite=Lax`;
  return message || undefined;
}

/** Where to go after signing in: the `next` parameter when it is a path on this hub, else Home. */
export function nextFromLocation(search: string): string {
  const next = new URLSearchParams(search).get("next");
  if (!next || !next.startsWith("/") || next.startsWith("//") || /[\\\r\n]/.test(next)) return "/hub/home";
  return next;
}
