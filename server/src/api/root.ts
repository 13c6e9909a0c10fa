/** GET /hub/api/ and /hub/api/info, as in JupyterHub. */
import { Router, type RequestHandler } from "express";
import type { HubContext } from "../hub/context.js";
import { GANYMEDE_VERSION, JUPYTERHUB_API_VERSION } from "../version.js";
import { mustBeAdmin } from "./access.js";

/** GET /hub/api/: the version, without authentication (clients probe it first). */
export const versionHandler: RequestHandler = (_req, res) => {
  res.json({ version: JUPYTERHUB_API_VERSION, ganymede: GANYMEDE_VERSION });
};

export function infoRouter(ctx: HubContext): Router {
  const router = Router();
  router.get("/info", (req, res) => {
    mustBeAdmin(req);
    res.json({
      version: JUPYTERHUB_API_VERSION,
      ganymede: GANYMEDE_VERSION,
      node: process.version,
      spawner: { class: `ganymede.${ctx.config.spawner.backend}`, version: GANYMEDE_VERSION, isolation: ctx.servers.isolation() },
      authenticator: { class: "ganymede.local", version: GANYMEDE_VERSION },
      policies: ctx.policy.status(),
      started: ctx.startedAt.toISOString(),
    });
  });
  return router;
}
