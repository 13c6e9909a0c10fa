/**
 * Sharing, JupyterHub 5's endpoints and models (`/shares/{user}/{server}`, `/users/{name}/shared`), so its clients
 * work. Only JupyterHub's default share scope exists here (`access:servers!server=<owner>/<server>`: use the server,
 * read-write); a request for another scope is refused rather than silently widened or narrowed.
 *
 * GET    /shares/{owner}/{server}              the server's shares (owner or admin)
 * POST   /shares/{owner}/{server}  {"user"|"group": name}   share it (the owner's policy: `shares`)
 * PATCH  /shares/{owner}/{server}  {"user"|"group": name}   revoke one share (JupyterHub: revoke its scopes)
 * DELETE /shares/{owner}/{server}              revoke every share
 * GET    /users/{name}/shared                  the servers shared with a user
 * DELETE /users/{name}/shared/{owner}/{server} a user leaves a share made to them by name
 * The default server is `/shares/{owner}/` (an empty server name), as in JupyterHub.
 */
import { Router, type Request, type Response } from "express";
import { z } from "zod";
import type { HubContext } from "../hub/context.js";
import { InputError } from "../errors.js";
import { parseOr400 } from "../http/validate.js";
import { serverBaseUrl } from "../servers/naming.js";
import type { ShareRecord, SharedServer, ShareTarget } from "../sharing/service.js";
import { targetUser } from "./access.js";
import { iso } from "./presenters.js";

const targetBody = z
  .object({
    user: z.string().min(1).optional(),
    group: z.string().min(1).optional(),
    scopes: z.array(z.string()).optional(),
  })
  .strict()
  .refine((b) => (b.user === undefined) !== (b.group === undefined), { error: "give exactly one of `user` or `group`" });

const scopeOf = (owner: string, server: string) => `access:servers!server=${owner}/${server}`;

function targetOf(req: Request, owner: string, server: string): ShareTarget {
  const body = parseOr400(targetBody, req.body ?? null);
  const allowed = scopeOf(owner, server);
  const other = body.scopes?.find((s) => s !== allowed);
  if (other) throw new InputError(`only the scope ${allowed} can be shared here (not ${other})`);
  return body.user !== undefined ? { kind: "user", name: body.user } : { kind: "group", name: body.group! };
}

function serverRef(owner: string, server: string, status?: string) {
  return { name: server, user: { name: owner }, url: serverBaseUrl(owner, server), ...(status ? { ready: status === "running" } : {}) };
}

export function shareModel(share: ShareRecord) {
  return {
    kind: "share",
    server: serverRef(share.owner, share.server),
    scopes: [scopeOf(share.owner, share.server)],
    user: share.kind === "user" ? { name: share.target } : null,
    group: share.kind === "group" ? { name: share.target } : null,
    created_at: iso(share.createdAt),
  };
}

export function sharedServerModel(shared: SharedServer) {
  return {
    server: serverRef(shared.owner, shared.server, shared.status),
    scopes: [scopeOf(shared.owner, shared.server)],
    // Ganymede addition: whether it is shared by name or through a group.
    via: shared.via,
    created_at: iso(shared.createdAt),
  };
}

const page = <T>(items: T[]) => ({ items, _pagination: { offset: 0, limit: items.length, total: items.length, next: null } });

export function sharesRouter(ctx: HubContext): Router {
  const router = Router();
  const owner = async (req: Request) => {
    const user = await targetUser(ctx, req, String(req.params.name));
    return { ...user, groups: ctx.users.groupsOf(user) };
  };
  const server = (req: Request) => String(req.params.server ?? "");

  const list = async (req: Request, res: Response) => {
    const user = await owner(req);
    res.json(page((await ctx.sharing.list(user, server(req))).map(shareModel)));
  };
  const share = async (req: Request, res: Response) => {
    const user = await owner(req);
    res.json(shareModel(await ctx.sharing.share(user, server(req), targetOf(req, user.name, server(req)))));
  };
  const revokeOne = async (req: Request, res: Response) => {
    const user = await owner(req);
    await ctx.sharing.revoke(user, server(req), targetOf(req, user.name, server(req)));
    res.status(204).end();
  };
  const revokeAll = async (req: Request, res: Response) => {
    const user = await owner(req);
    await ctx.sharing.revoke(user, server(req));
    res.status(204).end();
  };

  // One route per path (not arrays): the audit trail names a request by its route's path.
  router.get("/shares/:name/:server", list);
  router.get("/shares/:name/", list);
  router.post("/shares/:name/:server", share);
  router.post("/shares/:name/", share);
  router.patch("/shares/:name/:server", revokeOne);
  router.patch("/shares/:name/", revokeOne);
  router.delete("/shares/:name/:server", revokeAll);
  router.delete("/shares/:name/", revokeAll);

  router.get("/users/:name/shared", async (req, res) => {
    const user = await targetUser(ctx, req, String(req.params.name));
    const shared = await ctx.sharing.sharedWith({ name: user.name, groups: ctx.users.groupsOf(user) });
    res.json(page(shared.map(sharedServerModel)));
  });

  const leave = async (req: Request, res: Response) => {
    const user = await targetUser(ctx, req, String(req.params.name));
    await ctx.sharing.leave(user.name, String(req.params.owner), server(req));
    res.status(204).end();
  };
  router.delete("/users/:name/shared/:owner/:server", leave);
  router.delete("/users/:name/shared/:owner/", leave);

  return router;
}
