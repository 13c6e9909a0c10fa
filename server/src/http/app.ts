/**
 * The hub's HTTP surface: /hub/api (REST), /hub/* pages, Binder's /v2/ and /build/, one error handler. /user/* (the proxy to user servers)
 * is answered before Express, by the proxy's own listener (see hub/start.ts).
 */
import express, { type Express } from "express";
import type { HubContext } from "../hub/context.js";
import { apiRouter } from "../api/index.js";
import { errorHandler } from "./error-handler.js";
import { binderRouter } from "./binder-routes.js";
import { dashboardRouter } from "./dashboard.js";
import { pagesRouter } from "./pages.js";
import { oidcRouter } from "./oidc-routes.js";

export function createApp(ctx: HubContext): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", ctx.config.hub.trustProxy);
  app.use("/hub/api", apiRouter(ctx));
  app.use("/hub", pagesRouter(ctx));
  app.use("/hub", oidcRouter(ctx));
  app.use("/hub", dashboardRouter(ctx));
  app.use(binderRouter(ctx));
  app.get("/", (_req, res) => res.redirect(302, "/hub/home"));
  app.use(errorHandler(ctx.logger));
  return app;
}
