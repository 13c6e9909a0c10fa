/**
 * The hub's own pages under /hub/: sign-in and sign-out, health and metrics. Browser writes (the sign-in form) are
 * Origin-checked and carry a double-submit XSRF token.
 */
import { randomBytes } from "node:crypto";
import express, { Router, type Response } from "express";
import { parseCookie, stringifySetCookie } from "cookie";
import { signedIn, signInRefused } from "../audit/events.js";
import { ForbiddenError, HubError, RateLimitedError, UnavailableError } from "../errors.js";
import { requestOrigin, xsrfTokenFor } from "../auth/csrf.js";
import { completeSignIn } from "../auth/sign-in.js";
import { SignInThrottle } from "../auth/sign-in-throttle.js";
import { SESSION_COOKIE, XSRF_COOKIE, createSession, destroySession } from "../auth/sessions.js";
import type { HubContext } from "../hub/context.js";
import { attachPrincipal } from "./auth-middleware.js";
import { sendDashboard } from "./dashboard.js";
import { oidcLogoutUrl } from "./oidc-routes.js";

const LOGIN_XSRF_COOKIE = "ganymede-login-xsrf";
const LOGIN_ERROR_COOKIE = "ganymede-login-error";

/** Only paths on this hub are valid `next` targets (no scheme, no `//host`, no backslash tricks). */
export function safeNext(next: unknown): string {
  if (typeof next !== "string" || !next.startsWith("/") || next.startsWith("//") || /[\\\r\n]/.test(next)) return "/hub/home";
  return next;
}

/** Sets one of the hub's cookies: path /, SameSite=Lax, Secure when the hub is served over https. */
export function setHubCookie(
  ctx: HubContext,
  res: Response,
  name: string,
  value: string,
  options: { httpOnly?: boolean; path?: string; maxAge?: number },
): void {
  res.append("Set-Cookie", stringifySetCookie({ name, value, path: "/", sameSite: "lax", secure: cookieSecure(ctx), ...options }));
}

/** Signs a browser in, the same for every backend: a new session row, the session cookie and its XSRF cookie. */
export async function startBrowserSession(ctx: HubContext, res: Response, user: { id: number; name: string }): Promise<void> {
  const session = await createSession(ctx.db, user.id, ctx.config.hub.sessionMaxAge);
  const maxAge = Math.floor(ctx.config.hub.sessionMaxAge / 1000);
  setHubCookie(ctx, res, SESSION_COOKIE, session.secret, { httpOnly: true, maxAge });
  setHubCookie(ctx, res, XSRF_COOKIE, xsrfTokenFor(ctx.secrets, session.id), { httpOnly: false, maxAge });
}

/**
 * The sign-in page is the dashboard's (web/src/features/auth). The hub sets the form's double-submit XSRF cookie
 * (readable by the page, which sends it back as `_xsrf`) and, after a refusal the page did not ask for as JSON (a
 * plain form post, an OpenID Connect callback), a short-lived cookie carrying the hub's own sentence, which the page
 * shows once and clears. A cookie rather than a query parameter: nobody can craft a link that shows their words.
 */
export function sendSignInPage(ctx: HubContext, res: Response, status: number, error?: string): void {
  setHubCookie(ctx, res, LOGIN_XSRF_COOKIE, randomBytes(24).toString("base64url"), { path: "/hub/login", maxAge: 3600 });
  if (error) setHubCookie(ctx, res, LOGIN_ERROR_COOKIE, error, { path: "/hub/login", maxAge: 60 });
  sendDashboard(res, status);
}

/** What the sign-in page offers: the password form (always) and one button per OpenID Connect provider. */
export function signInOptions(ctx: HubContext) {
  return {
    password: { backend: ctx.authenticator.name },
    providers: ctx.config.auth.oidc.map((p) => ({ name: p.name, label: p.label, login_url: `/hub/oauth_login/${p.name}` })),
  };
}

export function pagesRouter(ctx: HubContext): Router {
  const { perUser, perAddress, window: windowMs } = ctx.config.auth.signInLimits;
  const throttle = new SignInThrottle(ctx.db, { perUser, perAddress, windowMs });
  const router = Router();
  const setCookie = (res: Response, name: string, value: string, options: { httpOnly?: boolean; path?: string; maxAge?: number }) =>
    setHubCookie(ctx, res, name, value, options);

  router.get("/login", (_req, res) => sendSignInPage(ctx, res, 200));
  router.get("/login/options", (_req, res) => {
    res.json(signInOptions(ctx));
  });

  // A form post (urlencoded) is answered like a browser expects: 303 to `next`, or the page again with the refusal.
  // The dashboard posts JSON and gets JSON back: `{ next }`, or the hub's error body.
  router.post("/login", express.urlencoded({ extended: false, limit: "16kb" }), express.json({ limit: "16kb" }), async (req, res) => {
    const wantsJson = req.is("application/json") === "application/json";
    const body = (req.body ?? {}) as Record<string, unknown>;
    const field = (name: string) => (typeof body[name] === "string" ? (body[name] as string) : "");
    const username = field("username").trim();
    const address = req.ip ?? "unknown";
    const refuse = (err: HubError) => {
      void ctx.audit.record(signInRefused({ typed: username, status: err.status, reason: err.message, via: ctx.authenticator.name, address }));
      if (err instanceof RateLimitedError) res.setHeader("Retry-After", String(err.retryAfterSeconds));
      if (wantsJson) throw err;
      sendSignInPage(ctx, res, err.status, err.message);
    };
    const origin = requestOrigin(req);
    if (origin !== undefined && !ctx.isAllowedOrigin(origin, req)) {
      throw new ForbiddenError(`cross-origin sign-in refused: origin ${origin} is not this hub`);
    }
    const cookie = parseCookie(req.headers.cookie ?? "")[LOGIN_XSRF_COOKIE];
    if (!cookie || field("_xsrf") !== cookie) {
      return refuse(new ForbiddenError("Your sign-in form expired; please try again."));
    }
    const password = field("password");
    let user;
    try {
      await throttle.check(username, address);
      // An empty password never authenticates: many directories treat it as an anonymous bind that succeeds.
      const identity = username && password ? await ctx.authenticator.authenticate(username, password) : null;
      if (!identity) {
        await throttle.failed(username, address);
        ctx.logger.info({ username, ip: address, backend: ctx.authenticator.name }, "sign-in refused");
        return refuse(new ForbiddenError("Invalid username or password."));
      }
      await throttle.succeeded(username);
      const { allowedGroups, adminGroups } = ctx.config.auth;
      user = await completeSignIn(ctx.users, identity, { allowedGroups, adminGroups }, ctx.authenticator.syncsGroups);
    } catch (err) {
      // Refusals the person can act on (not in an allowed group, directory unreachable) are shown in the form.
      if (err instanceof ForbiddenError || err instanceof UnavailableError || err instanceof RateLimitedError) {
        ctx.logger.info({ username, ip: address, reason: err.message }, "sign-in refused");
        return refuse(err);
      }
      throw err;
    }
    await startBrowserSession(ctx, res, user);
    setCookie(res, LOGIN_XSRF_COOKIE, "", { path: "/hub/login", maxAge: 0 });
    ctx.logger.info({ user: user.name, ip: req.ip }, "signed in");
    void ctx.audit.record(signedIn(user.name, ctx.authenticator.name, address));
    const next = safeNext(field("next"));
    if (wantsJson) res.json({ next });
    else res.redirect(303, next);
  });

  router.get("/logout", async (req, res) => {
    const secret = parseCookie(req.headers.cookie ?? "")[SESSION_COOKIE];
    const who = secret ? await ctx.identifier.identify(req) : undefined;
    if (secret) await destroySession(ctx.db, secret);
    if (who) void ctx.audit.record({ actor: who.name, actorKind: "user", action: "sign-out", user: who.name, outcome: "ok", address: req.ip ?? null });
    ctx.identifier.clear();
    setCookie(res, SESSION_COOKIE, "", { httpOnly: true, maxAge: 0 });
    setCookie(res, XSRF_COOKIE, "", { maxAge: 0 });
    // Signed in through an OpenID Connect provider: end that session too, when the provider allows it.
    res.redirect(303, (await oidcLogoutUrl(ctx, req, res)) ?? "/hub/login");
  });

  router.get("/health", async (_req, res) => {
    // A replica shutting down says so: load balancers and Kubernetes readiness send new requests elsewhere.
    const status = ctx.cluster.draining ? "draining" : "ok";
    res.status(ctx.cluster.draining ? 503 : 200).json({ status, policies: ctx.policy.status().lastError ? "degraded" : "ok", replica: ctx.cluster.replica });
  });

  router.get("/metrics", attachPrincipal(ctx.identifier), async (req, res) => {
    if (!ctx.config.hub.publicMetrics && !req.principal?.admin) {
      throw new ForbiddenError("metrics need an administrator's token (or hub.publicMetrics: true)");
    }
    res.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });

  return router;
}

function cookieSecure(ctx: HubContext): boolean {
  const mode = ctx.config.hub.cookieSecure;
  if (mode !== "auto") return mode === "always";
  return (ctx.config.hub.publicUrl ?? ctx.config.hub.bind).startsWith("https:");
}

