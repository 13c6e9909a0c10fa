/**
 * The hub's own pages under /hub/: sign-in and sign-out, the React dashboard (built into web/dist), health and
 * metrics. Browser writes (the login form) are Origin-checked and carry a double-submit XSRF token.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import express, { Router, type Request, type Response } from "express";
import { parseCookie, stringifySetCookie } from "cookie";
import { ForbiddenError, RateLimitedError, UnavailableError } from "../errors.js";
import { requestOrigin, xsrfTokenFor } from "../auth/csrf.js";
import { completeSignIn } from "../auth/sign-in.js";
import { SignInThrottle } from "../auth/sign-in-throttle.js";
import { SESSION_COOKIE, XSRF_COOKIE, createSession, destroySession } from "../auth/sessions.js";
import type { HubContext } from "../hub/context.js";
import { attachPrincipal } from "./auth-middleware.js";
import { escapeHtml, page } from "./html.js";
import { oidcLogoutUrl } from "./oidc-routes.js";

const LOGIN_XSRF_COOKIE = "ganymede-login-xsrf";

/** The built dashboard (`pnpm --filter @ganymede/web run build`), the same from server/src and server/dist. */
export const dashboardDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../web/dist");

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

/** The sign-in page: the password form and one button per OpenID Connect provider, with an error when refused. */
export function renderLogin(ctx: HubContext, req: Request, res: Response, status: number, error?: string): void {
  const nonce = randomBytes(16).toString("base64url");
  const xsrf = xsrfTokenFor(ctx.secrets, `login:${nonce}`);
  setHubCookie(ctx, res, LOGIN_XSRF_COOKIE, xsrf, { httpOnly: true, path: "/hub/login", maxAge: 3600 });
  const next = safeNext(req.query.next ?? req.body?.next);
  const providers = ctx.config.auth.oidc
    .map((p) => `<p><a class="button" href="/hub/oauth_login/${p.name}?next=${escapeHtml(encodeURIComponent(next))}">${escapeHtml(p.label)}</a></p>`)
    .join("");
  res.status(status).type("html").send(
    page(
      "Sign in",
      `<form method="post" action="/hub/login" class="card">
          <h1>Sign in to Ganymede</h1>
          ${error ? `<p role="alert" class="error">${escapeHtml(error)}</p>` : ""}
          ${providers}
          <label>Username <input name="username" autocomplete="username" required autofocus></label>
          <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
          <input type="hidden" name="_xsrf" value="${escapeHtml(xsrf)}">
          <input type="hidden" name="next" value="${escapeHtml(next)}">
          <button type="submit">Sign in</button>
        </form>`,
    ),
  );
}

export function pagesRouter(ctx: HubContext): Router {
  const { perUser, perAddress, window: windowMs } = ctx.config.auth.signInLimits;
  const throttle = new SignInThrottle({ perUser, perAddress, windowMs });
  const router = Router();
  const setCookie = (res: Response, name: string, value: string, options: { httpOnly?: boolean; path?: string; maxAge?: number }) =>
    setHubCookie(ctx, res, name, value, options);
  const loginForm = (req: Request, res: Response, status: number, error?: string) => renderLogin(ctx, req, res, status, error);

  router.get("/login", (req, res) => loginForm(req, res, 200));

  router.post("/login", express.urlencoded({ extended: false, limit: "16kb" }), async (req, res) => {
    const origin = requestOrigin(req);
    if (origin !== undefined && !ctx.isAllowedOrigin(origin, req)) {
      throw new ForbiddenError(`cross-origin sign-in refused: origin ${origin} is not this hub`);
    }
    const cookie = parseCookie(req.headers.cookie ?? "")[LOGIN_XSRF_COOKIE];
    const body = req.body as Record<string, string | undefined>;
    if (!cookie || body._xsrf !== cookie) {
      return loginForm(req, res, 403, "Your sign-in form expired; please try again.");
    }
    const username = (body.username ?? "").trim();
    const password = body.password ?? "";
    const address = req.ip ?? "unknown";
    let user;
    try {
      await throttle.check(username, address);
      // An empty password never authenticates: many directories treat it as an anonymous bind that succeeds.
      const identity = username && password ? await ctx.authenticator.authenticate(username, password) : null;
      if (!identity) {
        await throttle.failed(username, address);
        ctx.logger.info({ username, ip: address, backend: ctx.authenticator.name }, "sign-in refused");
        return loginForm(req, res, 403, "Invalid username or password.");
      }
      await throttle.succeeded(username);
      const { allowedGroups, adminGroups } = ctx.config.auth;
      user = await completeSignIn(ctx.users, identity, { allowedGroups, adminGroups }, ctx.authenticator.syncsGroups);
    } catch (err) {
      // Refusals the person can act on (not in an allowed group, directory unreachable) are shown in the form.
      if (err instanceof ForbiddenError || err instanceof UnavailableError || err instanceof RateLimitedError) {
        ctx.logger.info({ username, ip: address, reason: err.message }, "sign-in refused");
        if (err instanceof RateLimitedError) res.setHeader("Retry-After", String(err.retryAfterSeconds));
        return loginForm(req, res, err.status, err.message);
      }
      throw err;
    }
    await startBrowserSession(ctx, res, user);
    setCookie(res, LOGIN_XSRF_COOKIE, "", { httpOnly: true, path: "/hub/login", maxAge: 0 });
    ctx.logger.info({ user: user.name, ip: req.ip }, "signed in");
    res.redirect(303, safeNext(body.next));
  });

  router.get("/logout", async (req, res) => {
    const secret = parseCookie(req.headers.cookie ?? "")[SESSION_COOKIE];
    if (secret) await destroySession(ctx.db, secret);
    ctx.identifier.clear();
    setCookie(res, SESSION_COOKIE, "", { httpOnly: true, maxAge: 0 });
    setCookie(res, XSRF_COOKIE, "", { maxAge: 0 });
    // Signed in through an OpenID Connect provider: end that session too, when the provider allows it.
    res.redirect(303, (await oidcLogoutUrl(ctx, req, res)) ?? "/hub/login");
  });

  router.get("/health", async (_req, res) => {
    res.json({ status: "ok", policies: ctx.policy.status().lastError ? "degraded" : "ok" });
  });

  router.get("/metrics", attachPrincipal(ctx.identifier), async (req, res) => {
    if (!ctx.config.hub.publicMetrics && !req.principal?.admin) {
      throw new ForbiddenError("metrics need an administrator's token (or hub.publicMetrics: true)");
    }
    res.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });

  // The dashboard's scripts and styles: content-hashed names, so cached for good.
  router.use("/assets", express.static(path.join(dashboardDir, "assets"), { index: false, immutable: true, maxAge: "365d" }));

  // The dashboard's pages: each answers with its index.html, which routes in the browser.
  router.get(["/", "/home", "/tokens"], attachPrincipal(ctx.identifier), async (req, res) => {
    if (!req.principal) return res.redirect(302, `/hub/login?next=${encodeURIComponent(req.originalUrl)}`);
    const index = path.join(dashboardDir, "index.html");
    if (existsSync(index)) {
      res.setHeader("Cache-Control", "no-cache");
      return res.sendFile(index);
    }
    res.status(503).type("html").send(
      page("Dashboard not built", `<section class="card"><h1>The dashboard is not built</h1><p>Run <code>scripts/setup.sh</code> (it builds <code>web/</code>), then reload. The REST API works meanwhile: <a href="/hub/api/openapi.json">/hub/api</a>.</p></section>`),
    );
  });

  return router;
}

function cookieSecure(ctx: HubContext): boolean {
  const mode = ctx.config.hub.cookieSecure;
  if (mode !== "auto") return mode === "always";
  return (ctx.config.hub.publicUrl ?? ctx.config.hub.bind).startsWith("https:");
}
