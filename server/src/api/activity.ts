/** POST /hub/api/users/{name}/activity: servers (or their extensions) report activity, as in JupyterHub. */
import { Router } from "express";
import { z } from "zod";
import { InputError } from "../errors.js";
import type { HubContext } from "../hub/context.js";
import { parseOr400 } from "../http/validate.js";
import { targetUser } from "./access.js";

const timestamp = z.iso.datetime({ offset: true }).transform((s) => new Date(s));
const body = z.object({
  last_activity: timestamp.optional(),
  servers: z.record(z.string(), z.object({ last_activity: timestamp }).passthrough()).optional(),
});

const MAX_FUTURE_MS = 59 * 60_000;

export function activityRouter(ctx: HubContext): Router {
  const router = Router();
  router.post("/users/:name/activity", async (req, res) => {
    const user = await targetUser(ctx, req, req.params.name!);
    const parsed = parseOr400(body, req.body);
    if (!parsed.last_activity && !parsed.servers) {
      throw new InputError("body must contain at least one of `last_activity` or `servers`");
    }
    const limit = Date.now() + MAX_FUTURE_MS;
    const all = [parsed.last_activity, ...Object.values(parsed.servers ?? {}).map((s) => s.last_activity)];
    if (all.some((d) => d && d.getTime() > limit)) throw new InputError("rejecting activity from more than an hour in the future");
    const names = new Set((await ctx.db.server.findMany({ where: { userId: user.id }, select: { name: true } })).map((s) => s.name));
    for (const name of Object.keys(parsed.servers ?? {})) {
      if (!names.has(name)) throw new InputError(`no such server '${name}' for user ${user.name}`);
    }
    for (const [name, info] of Object.entries(parsed.servers ?? {})) await ctx.servers.activity.record(user.name, name, info.last_activity);
    if (parsed.last_activity) await ctx.servers.activity.record(user.name, null, parsed.last_activity);
    res.status(200).json({});
  });
  return router;
}
