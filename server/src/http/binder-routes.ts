/**
 * BinderHub's public surface (issue 5): `/v2/<provider>/<spec>` is the launch page (the dashboard's, after
 * sign-in), `/build/<provider>/<spec>` the server-sent event stream of a launch, `/badge_logo.svg` the badge.
 * The build stream starts work, so it answers only the dashboard's own page: a signed-in browser, same origin.
 */
import { Router, type Request, type Response } from "express";
import { binderLaunched } from "../audit/events.js";
import { loggable } from "../binder/launcher.js";
import { ForbiddenError, NotFoundError } from "../errors.js";
import type { HubContext } from "../hub/context.js";
import { attachPrincipal } from "./auth-middleware.js";
import { sendDashboard } from "./dashboard.js";

const KEEPALIVE_MS = 8_000;

export function binderRouter(ctx: HubContext): Router {
  const router = Router();
  const launcher = () => {
    if (!ctx.binder) throw new NotFoundError("Binder launches are not enabled on this hub (builder.enabled)");
    return ctx.binder;
  };

  router.get("/badge_logo.svg", (_req, res) => {
    res.type("image/svg+xml").setHeader("Cache-Control", "public, max-age=86400");
    res.send(BADGE_SVG);
  });

  router.get("/v2/*spec", attachPrincipal(ctx.identifier), (req, res) => {
    launcher();
    if (!req.principal) return res.redirect(302, `/hub/login?next=${encodeURIComponent(req.originalUrl)}`);
    sendDashboard(res);
  });

  router.get("/build/*spec", attachPrincipal(ctx.identifier), async (req: Request, res: Response) => {
    const binder = launcher();
    if (!req.principal) throw new ForbiddenError("sign in to launch repositories");
    // A launch builds and starts a server: only the dashboard's own page may ask (no cross-site navigation or embed).
    const site = req.get("sec-fetch-site");
    if (site !== undefined && site !== "same-origin") throw new ForbiddenError(`launches start only from this hub's pages (request from a ${site} page)`);
    const origin = req.get("origin");
    if (origin !== undefined && !ctx.isAllowedOrigin(origin, req)) throw new ForbiddenError(`launches start only from this hub's pages (origin ${origin})`);

    // The spec keeps its own percent-encoding (a `git/` spec carries a whole escaped URL): read it from the raw path.
    const specPath = req.path.slice("/build/".length);
    res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no" });
    const closed = new AbortController();
    res.on("close", () => closed.abort());
    const keepalive = setInterval(() => res.write(":\n\n"), KEEPALIVE_MS);
    let last: { phase?: string; message?: string } = {};
    try {
      for await (const event of binder.launch(req.principal.name, specPath, closed.signal)) {
        last = event as typeof last;
        res.write(`data: ${JSON.stringify(event)}\n\n`);
      }
    } finally {
      clearInterval(keepalive);
      res.end();
      // A launch builds and starts a server: the audit trail keeps how it ended (ready, failed with the reason, or
      // left by its page before the end).
      void ctx.audit.record(binderLaunched(req.principal.name, loggable(specPath), last, closed.signal.aborted, req.ip));
    }
  });

  return router;
}

/** "launch | binder", in the shape and colours people know from mybinder.org badges (drawn here, not copied). */
const BADGE_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="109" height="20" role="img" aria-label="launch: binder">
<title>launch: binder</title>
<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>
<clipPath id="r"><rect width="109" height="20" rx="3" fill="#fff"/></clipPath>
<g clip-path="url(#r)"><rect width="64" height="20" fill="#555"/><rect x="64" width="45" height="20" fill="#579aca"/><rect width="109" height="20" fill="url(#s)"/></g>
<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">
<circle cx="12" cy="10" r="4.5" fill="none" stroke="#f5a252" stroke-width="2"/><circle cx="12" cy="10" r="1.5" fill="#e66581"/>
<text x="40" y="14">launch</text><text x="86" y="14">binder</text></g></svg>`;
