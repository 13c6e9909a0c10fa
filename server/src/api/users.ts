/**
 * /hub/api/user and /hub/api/users…: JupyterHub 5's user endpoints (list with pagination and state filter, get,
 * create one or many, patch, delete).
 */
import { Router, type Request } from "express";
import { z } from "zod";
import { AlreadyExistsError, InputError } from "../errors.js";
import type { HubContext } from "../hub/context.js";
import { parseOr400 } from "../http/validate.js";
import { mustBeAdmin, principalOf, targetUser } from "./access.js";
import { serverModel, userModel } from "./presenters.js";
import { userInclude, validateUsername, type UserWithGroups } from "../users/service.js";

const PAGE_DEFAULT = 50;
const PAGE_MAX = 200;
const PAGINATION_TYPE = "application/jupyterhub-pagination+json";

const listQuery = z.object({
  offset: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).default(PAGE_DEFAULT).transform((n) => Math.min(n, PAGE_MAX)),
  state: z.enum(["active", "ready", "inactive"]).optional(),
  name_filter: z.string().optional(),
  include_stopped_servers: z.string().optional(),
});

const createOne = z.object({ admin: z.boolean().optional(), groups: z.array(z.string()).optional() }).strict().nullish();
const createMany = z.object({ usernames: z.array(z.string()).min(1), admin: z.boolean().optional() }).strict();
const patchUser = z.object({ admin: z.boolean().optional(), groups: z.array(z.string()).optional() }).strict();

export function usersRouter(ctx: HubContext): Router {
  const router = Router();

  /** Builds the full user model; servers are included like JupyterHub (active ones unless asked for stopped). */
  /** `withStorage` measures each server's storage (single-user endpoints only: it reads the disk). */
  async function present(req: Request, user: UserWithGroups, includeStopped: boolean, withStorage = false) {
    const principal = principalOf(req);
    const rows = user.servers;
    const groups = ctx.users.groupsOf(user);
    const policyUser = { name: user.name, groups };
    const models = await Promise.all(
      rows.map(async (row) =>
        serverModel(user.name, ctx.servers.view(policyUser, row, { includeState: principal.admin }), {
          publicUrl: ctx.config.hub.publicUrl,
          stopWarningMs: ctx.config.culler.warnBefore,
          storageUsedBytes: withStorage ? await ctx.servers.storageUsed(user.name, row.name, row) : undefined,
        }),
      ),
    );
    const shown = includeStopped ? models : models.filter((m) => !m.stopped);
    const def = models.find((m) => m.name === "");
    const quotas = ctx.servers.quotaUse(policyUser, rows);
    return userModel({ ...user, groups, namedServerLimit: ctx.policy.limitsFor(policyUser).namedServers, quotas }, shown, def);
  }

  router.get("/user", async (req, res) => {
    const principal = principalOf(req);
    const user = await ctx.users.get(principal.name);
    const model = await present(req, user, flag(req.query.include_stopped_servers), true);
    res.json({ ...model, scopes: principal.admin ? ["admin-ui", "inherit"] : ["inherit"], token_id: principal.tokenId ? `a${principal.tokenId}` : null, session_id: principal.sessionId ?? null });
  });

  router.get("/users", async (req, res) => {
    mustBeAdmin(req);
    const q = parseOr400(listQuery, req.query, "query");
    const where: Record<string, unknown> = {};
    // Usernames are stored lower-case, so a lower-cased substring match is case-insensitive on every database.
    if (q.name_filter) where.name = { contains: q.name_filter.toLowerCase() };
    if (q.state === "active" || q.state === "ready") {
      where.servers = { some: { status: q.state === "ready" ? "running" : { in: ["pending", "running", "stopping"] } } };
    } else if (q.state === "inactive") {
      where.servers = { none: { status: { in: ["pending", "running", "stopping"] } } };
    }
    const [total, users] = await Promise.all([
      ctx.db.user.count({ where }),
      ctx.db.user.findMany({ where, orderBy: { id: "asc" }, skip: q.offset, take: q.limit, include: userInclude }),
    ]);
    const includeStopped = flag(q.include_stopped_servers);
    let items = await Promise.all(users.map((u) => present(req, u, includeStopped)));
    if (q.state === "ready") {
      // A running row whose spawn is still settling is not "ready" yet.
      items = items.filter((u) => Object.values((u.servers ?? {}) as Record<string, { ready: boolean }>).some((s) => s.ready));
    }
    if (req.accepts(PAGINATION_TYPE) === PAGINATION_TYPE && (req.get("accept") ?? "").includes(PAGINATION_TYPE)) {
      const nextOffset = q.offset + q.limit;
      const next =
        nextOffset < total
          ? { offset: nextOffset, limit: q.limit, url: `${req.protocol}://${req.get("host")}${req.baseUrl}/users?${new URLSearchParams({ ...stringQuery(req), offset: String(nextOffset), limit: String(q.limit) })}` }
          : null;
      res.json({ items, _pagination: { offset: q.offset, limit: q.limit, total, next } });
      return;
    }
    res.json(items);
  });

  router.post("/users", async (req, res) => {
    mustBeAdmin(req);
    const body = parseOr400(createMany, req.body);
    for (const name of body.usernames) validateUsername(name); // all names first: nothing is created if one is bad
    const existing = await ctx.db.user.findMany({ where: { name: { in: body.usernames } }, select: { name: true } });
    const toCreate = body.usernames.filter((n) => !existing.some((e) => e.name === n));
    if (toCreate.length === 0) throw new AlreadyExistsError(`all ${body.usernames.length} users already exist`);
    const created = [];
    for (const name of toCreate) created.push(await ctx.users.create(name, { admin: body.admin ?? false }));
    res.status(201).json(await Promise.all(created.map((u) => present(req, u, false))));
  });

  router.get("/users/:name", async (req, res) => {
    const user = await targetUser(ctx, req, req.params.name!);
    const includeStopped = flag(req.query.include_stopped_servers);
    res.json(await present(req, user, includeStopped, true));
  });

  router.post("/users/:name", async (req, res) => {
    mustBeAdmin(req);
    const body = parseOr400(createOne, req.body ?? null);
    const user = await ctx.users.create(req.params.name!, { admin: body?.admin ?? false, groups: body?.groups ?? [] });
    res.status(201).json(await present(req, user, false));
  });

  router.patch("/users/:name", async (req, res) => {
    mustBeAdmin(req);
    const body = parseOr400(patchUser, req.body);
    await ctx.users.get(req.params.name!);
    if (body.admin !== undefined) await ctx.users.setAdmin(req.params.name!, body.admin);
    if (body.groups) await ctx.users.setGroups(req.params.name!, body.groups);
    res.json(await present(req, await ctx.users.get(req.params.name!), false));
  });

  router.delete("/users/:name", async (req, res) => {
    const principal = mustBeAdmin(req);
    if (principal.name === req.params.name) throw new InputError("you cannot delete yourself");
    await ctx.users.delete(req.params.name!);
    res.status(204).end();
  });

  return router;
}

/** A boolean query flag: present means on, except "false" and "0" (JupyterHub's reading). */
function flag(value: unknown): boolean {
  return value !== undefined && value !== "false" && value !== "0";
}

function stringQuery(req: Request): Record<string, string> {
  return Object.fromEntries(Object.entries(req.query).filter((e): e is [string, string] => typeof e[1] === "string"));
}
