/**
 * The React dashboard (web/, built into web/dist): its hashed assets, and index.html for every page it routes in the
 * browser. Pages other than sign-in need a signed-in browser; the others are sent to the sign-in page and back.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import express, { Router, type Response } from "express";
import type { HubContext } from "../hub/context.js";
import { attachPrincipal } from "./auth-middleware.js";
import { page } from "./html.js";

/** The built dashboard (`pnpm --filter @ganymede/web run build`), the same from server/src and server/dist. */
export const dashboardDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../web/dist");

/** Paths the dashboard routes in the browser (web/src/app/router.tsx), besides the sign-in page. */
export const DASHBOARD_PAGES = ["/", "/home", "/tokens", "/admin", "/spawn-pending/:user", "/spawn-pending/:user/:server"];

/** Answers with the dashboard's index.html (which routes in the browser), or says how to build it. */
export function sendDashboard(res: Response, status = 200): void {
  const index = path.join(dashboardDir, "index.html");
  if (existsSync(index)) {
    res.status(status).setHeader("Cache-Control", "no-cache");
    res.sendFile(index);
    return;
  }
  res.status(503).type("html").send(
    page(
      "Dashboard not built",
      `<section class="card"><h1>The dashboard is not built</h1><p>Run <code>scripts/setup.sh</code> (it builds <code>web/</code>), then reload. The REST API works meanwhile: <a href="/hub/api/openapi.json">/hub/api</a>.</p></section>`,
    ),
  );
}

export function dashboardRouter(ctx: HubContext): Router {
  const router = Router();
  // Scripts and styles have content-hashed names, so they are cached for good.
  router.use("/assets", express.static(path.join(dashboardDir, "assets"), { index: false, immutable: true, maxAge: "365d" }));
  router.get(DASHBOARD_PAGES, attachPrincipal(ctx.identifier), (req, res) => {
    if (!req.principal) return res.redirect(302, `/hub/login?next=${encodeURIComponent(req.originalUrl)}`);
    sendDashboard(res);
  });
  return router;
}
