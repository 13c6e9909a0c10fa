/**
 * Server lifecycle endpoints, JupyterHub 5 semantics:
 * POST …/server | …/servers/{name}     201 started, 202 pending (follow progress_url), 400 already running/policy
 * DELETE …/server | …/servers/{name}   204 stopped, 202 stopping; body {"remove": true} deletes a named server
 * GET …/progress                        server-sent events ending in `ready` (with url) or `failed`
 * PUT …/deadline {"deadline": ISO}      Ganymede: moves a running server's lifetime stop, within its policy
 *                                       (Coder's deadline bump); 200 with the server model
 */
import { Router, type Request, type Response } from "express";
import { z } from "zod";
import type { HubContext } from "../hub/context.js";
import { parseOr400 } from "../http/validate.js";
import { InputError } from "../errors.js";
import { BINDER_OPTION } from "../servers/types.js";
import { principalOf, targetUser } from "./access.js";
import { serverModel } from "./presenters.js";

const deleteBody = z.object({ remove: z.boolean().optional() }).passthrough().nullish();
const deadlineBody = z.object({ deadline: z.iso.datetime({ offset: true }).transform((text) => new Date(text)) }).strict();
const startBody = z.record(z.string(), z.unknown()).nullish();
const KEEPALIVE_MS = 8_000;

export function serversRouter(ctx: HubContext): Router {
  const router = Router();

  async function start(req: Request, res: Response, serverName: string) {
    const user = await targetUser(ctx, req, String(req.params.name));
    const options = parseOr400(startBody, req.body ?? null) ?? {};
    if (BINDER_OPTION in options) {
      throw new InputError(`the user option \`${BINDER_OPTION}\` is reserved: the hub sets it for servers launched from a repository`);
    }
    const outcome = await ctx.servers.start(user, serverName, options);
    res.status(outcome === "started" ? 201 : 202).type("text/plain").end();
  }

  async function stop(req: Request, res: Response, serverName: string) {
    const user = await targetUser(ctx, req, String(req.params.name));
    const body = parseOr400(deleteBody, req.body ?? null);
    const principal = principalOf(req);
    const reason = principal.name === user.name ? `stopped by ${user.name}` : `stopped by ${principal.name} (an administrator)`;
    const outcome = await ctx.servers.stop(user, serverName, { remove: body?.remove === true, reason });
    res.status(outcome === "stopped" ? 204 : 202).type("text/plain").end();
  }

  async function moveDeadline(req: Request, res: Response, serverName: string) {
    const user = await targetUser(ctx, req, String(req.params.name));
    const { deadline } = parseOr400(deadlineBody, req.body ?? null);
    const view = await ctx.servers.extend(user, serverName, deadline);
    res.json(serverModel(user.name, view, { publicUrl: ctx.config.hub.publicUrl, stopWarningMs: ctx.config.culler.warnBefore }));
  }

  async function progress(req: Request, res: Response, serverName: string) {
    const user = await targetUser(ctx, req, String(req.params.name));
    const log = await ctx.servers.progress(user, serverName);
    res.writeHead(200, {
      "Content-Type": "text/event-stream",
      "Cache-Control": "no-cache",
      "X-Accel-Buffering": "no",
    });
    const closed = new AbortController();
    res.on("close", () => closed.abort());
    const keepalive = setInterval(() => res.write("\n\n"), KEEPALIVE_MS);
    try {
      for await (const event of log.follow(closed.signal)) res.write(`data: ${JSON.stringify(event)}\n\n`);
    } finally {
      clearInterval(keepalive);
      res.end();
    }
  }

  router.post("/users/:name/server", (req, res) => start(req, res, ""));
  router.delete("/users/:name/server", (req, res) => stop(req, res, ""));
  router.get("/users/:name/server/progress", (req, res) => progress(req, res, ""));
  router.post("/users/:name/servers/:server", (req, res) => start(req, res, req.params.server!));
  router.delete("/users/:name/servers/:server", (req, res) => stop(req, res, req.params.server!));
  router.get("/users/:name/servers/:server/progress", (req, res) => progress(req, res, req.params.server!));
  router.put("/users/:name/server/deadline", (req, res) => moveDeadline(req, res, ""));
  router.put("/users/:name/servers/:server/deadline", (req, res) => moveDeadline(req, res, req.params.server!));
  // An empty name in …/servers/ means the default server, as in JupyterHub.
  router.post("/users/:name/servers/", (req, res) => start(req, res, ""));
  router.delete("/users/:name/servers/", (req, res) => stop(req, res, ""));

  return router;
}
