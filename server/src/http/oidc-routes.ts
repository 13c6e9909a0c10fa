/**
 * Sign-in through OpenID Connect providers: /hub/oauth_login/<name> sends the browser to the provider with PKCE,
 * state and nonce (kept sealed in a short-lived cookie), /hub/oauth_callback checks the answer and signs the person in
 * with the same rules and session cookies as the password form. Refusals are shown on the sign-in page.
 */
import { Router, type Request, type Response } from "express";
import { parseCookie } from "cookie";
import { ForbiddenError, HubError, NotFoundError } from "../errors.js";
import type { OidcFlow } from "../auth/oidc.js";
import { completeSignIn } from "../auth/sign-in.js";
import type { HubContext } from "../hub/context.js";
import { signedIn, signInRefused } from "../audit/events.js";
import { safeNext, sendSignInPage, setHubCookie, startBrowserSession } from "./pages.js";

const FLOW_COOKIE = "ganymede-oidc-flow";
const FLOW_PATH = "/hub/oauth_callback";
const FLOW_TTL_SECONDS = 600;
/** Which provider (and its sealed ID token) signed this browser in, read at sign-out. */
const SIGNED_IN_COOKIE = "ganymede-oidc";
const SIGNED_IN_PATH = "/hub/logout";

/** The URL people reach the hub at: hub.publicUrl, or the address this request came to. */
function hubBase(ctx: HubContext, req: Request): string {
  return (ctx.config.hub.publicUrl ?? `${req.protocol}://${req.get("host")}`).replace(/\/+$/, "");
}

export function oidcRouter(ctx: HubContext): Router {
  const router = Router();

  /** Shows refusals the person can act on (provider down, not allowed, expired attempt) on the sign-in page. */
  const refuse = (req: Request, res: Response, err: unknown) => {
    if (!(err instanceof HubError) || (err.status >= 500 && err.status !== 503)) throw err;
    ctx.logger.info({ ip: req.ip, reason: err.message, detail: err.detail }, "oidc sign-in refused");
    void ctx.audit.record(signInRefused({ status: err.status, reason: err.message, via: "oidc", address: req.ip }));
    sendSignInPage(ctx, res, err.status, err.message);
  };

  router.get("/oauth_login/:name", async (req, res) => {
    const provider = ctx.oidc.get(String(req.params.name));
    if (!provider) throw new NotFoundError(`no sign-in provider called ${req.params.name}`);
    try {
      const { url, flow } = await provider.begin(`${hubBase(ctx, req)}${FLOW_PATH}`, safeNext(req.query.next));
      const sealed = ctx.secrets.seal(JSON.stringify({ ...flow, exp: Date.now() + FLOW_TTL_SECONDS * 1000 }));
      setHubCookie(ctx, res, FLOW_COOKIE, sealed, { httpOnly: true, path: FLOW_PATH, maxAge: FLOW_TTL_SECONDS });
      res.redirect(302, url.href);
    } catch (err) {
      refuse(req, res, err);
    }
  });

  router.get("/oauth_callback", async (req, res) => {
    setHubCookie(ctx, res, FLOW_COOKIE, "", { httpOnly: true, path: FLOW_PATH, maxAge: 0 });
    try {
      const flow = readFlow(ctx, req);
      const provider = ctx.oidc.get(flow.provider);
      if (!provider) throw new ForbiddenError("That sign-in provider is no longer configured; please try again.");
      const callbackUrl = new URL(req.originalUrl, `${hubBase(ctx, req)}/`);
      const { identity, idToken } = await provider.complete(callbackUrl, flow);
      const { allowedGroups, adminGroups } = ctx.config.auth;
      const user = await completeSignIn(ctx.users, identity, { allowedGroups, adminGroups }, true);
      await startBrowserSession(ctx, res, user);
      const remembered = ctx.secrets.seal(JSON.stringify({ provider: provider.name, idToken }));
      const maxAge = Math.floor(ctx.config.hub.sessionMaxAge / 1000);
      setHubCookie(ctx, res, SIGNED_IN_COOKIE, remembered, { httpOnly: true, path: SIGNED_IN_PATH, maxAge });
      ctx.logger.info({ user: user.name, ip: req.ip, provider: provider.name }, "signed in");
      void ctx.audit.record(signedIn(user.name, `oidc:${provider.name}`, req.ip));
      res.redirect(303, flow.next);
    } catch (err) {
      refuse(req, res, err);
    }
  });

  return router;
}

/** The flow this browser started, checked against the provider's `state`: missing, expired or altered is refused. */
function readFlow(ctx: HubContext, req: Request): OidcFlow {
  const expired = new ForbiddenError("Your sign-in attempt expired or could not be verified; please try again.");
  const sealed = parseCookie(req.headers.cookie ?? "")[FLOW_COOKIE];
  if (!sealed) throw expired;
  let flow: OidcFlow & { exp: number };
  try {
    flow = JSON.parse(ctx.secrets.unseal(sealed)) as OidcFlow & { exp: number };
  } catch {
    throw expired;
  }
  if (flow.exp < Date.now() || req.query.state !== flow.state) throw expired;
  return { ...flow, next: safeNext(flow.next) };
}

/**
 * At sign-out: forgets which provider signed this browser in and returns that provider's end-session URL (with the
 * ID token as hint), or undefined for password sign-ins and providers without RP-initiated logout.
 */
export async function oidcLogoutUrl(ctx: HubContext, req: Request, res: Response): Promise<string | undefined> {
  const sealed = parseCookie(req.headers.cookie ?? "")[SIGNED_IN_COOKIE];
  if (!sealed) return undefined;
  setHubCookie(ctx, res, SIGNED_IN_COOKIE, "", { httpOnly: true, path: SIGNED_IN_PATH, maxAge: 0 });
  let remembered: { provider: string; idToken?: string };
  try {
    remembered = JSON.parse(ctx.secrets.unseal(sealed)) as { provider: string; idToken?: string };
  } catch {
    return undefined;
  }
  const provider = ctx.oidc.get(remembered.provider);
  return (await provider?.endSessionUrl(remembered.idToken, `${hubBase(ctx, req)}/hub/login`))?.href;
}
