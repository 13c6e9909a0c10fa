/** The REST API under /hub/api: authentication, CSRF, the JupyterHub-compatible routers, the OpenAPI document. */
import express, { Router } from "express";
import type { HubContext } from "../hub/context.js";
import { auditRequests } from "../audit/requests.js";
import { attachPrincipal, csrfGuard, requirePrincipal } from "../http/auth-middleware.js";
import { NotFoundError } from "../errors.js";
import { activityRouter } from "./activity.js";
import { auditRouter } from "./audit.js";
import { binderApiRouter } from "./binder.js";
import { openApiDocument } from "./openapi.js";
import { policiesRouter } from "./policies.js";
import { infoRouter, versionHandler } from "./root.js";
import { serversRouter } from "./servers.js";
import { sharesRouter } from "./shares.js";
import { tokensRouter } from "./tokens.js";
import { usersRouter } from "./users.js";

export function apiRouter(ctx: HubContext): Router {
  const router = Router();
  // Bodies are JSON whatever their Content-Type says (JupyterHub reads them the same way; some clients send none).
  router.use(express.json({ limit: "1mb", type: () => true }));
  router.get("/openapi.json", (_req, res) => {
    res.json(openApiDocument());
  });
  router.use(attachPrincipal(ctx.identifier));
  // Before the CSRF guard, so that its refusals are recorded too.
  router.use(auditRequests(ctx.audit));
  router.use(csrfGuard(ctx.secrets, ctx.isAllowedOrigin));
  router.get("/", versionHandler);
  router.use(requirePrincipal);
  router.use(infoRouter(ctx));
  router.use(usersRouter(ctx));
  router.use(serversRouter(ctx));
  router.use(sharesRouter(ctx));
  router.use(tokensRouter(ctx));
  router.use(activityRouter(ctx));
  router.use(policiesRouter(ctx));
  router.use(auditRouter(ctx));
  router.use(binderApiRouter(ctx));
  router.use((req) => {
    throw new NotFoundError(`no such API endpoint: ${req.method} ${req.originalUrl.split("?")[0]}`);
  });
  return router;
}
