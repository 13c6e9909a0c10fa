/** /hub/api/users/{name}/tokens…: list, create (shown once), get and revoke API tokens. */
import { Router } from "express";
import { z } from "zod";
import { InputError, NotFoundError } from "../errors.js";
import { issueToken } from "../auth/tokens.js";
import type { HubContext } from "../hub/context.js";
import { parseOr400 } from "../http/validate.js";
import { principalOf, targetUser } from "./access.js";
import { tokenModel } from "./presenters.js";

const createBody = z
  .object({
    note: z.string().max(1000).optional(),
    expires_in: z.number().int().nonnegative().nullish(), // 0 or null: never expires
    scopes: z.array(z.string()).nullish(),
    roles: z.array(z.string()).nullish(),
  })
  .nullish();

function tokenId(text: string): number {
  const match = /^a(\d+)$/.exec(text);
  if (!match) throw new NotFoundError(`no such token: ${text}`);
  return Number(match[1]);
}

export function tokensRouter(ctx: HubContext): Router {
  const router = Router();

  router.get("/users/:name/tokens", async (req, res) => {
    const user = await targetUser(ctx, req, req.params.name!);
    const now = new Date();
    await ctx.db.apiToken.deleteMany({ where: { userId: user.id, expiresAt: { lte: now } } });
    const tokens = await ctx.db.apiToken.findMany({ where: { userId: user.id }, orderBy: { createdAt: "asc" } });
    res.json({ api_tokens: tokens.map((t) => tokenModel(t, user)) });
  });

  router.post("/users/:name/tokens", async (req, res) => {
    const principal = principalOf(req);
    const user = await targetUser(ctx, req, req.params.name!);
    const body = parseOr400(createBody, req.body ?? null) ?? {};
    if (body.scopes && !(body.scopes.length === 1 && body.scopes[0] === "inherit")) {
      throw new InputError(
        'only the scope "inherit" is supported: a token carries its owner\'s current rights',
        [{ field: "scopes", detail: "unsupported scopes" }],
      );
    }
    const note = body.note || (principal.name === user.name ? "Requested via api" : `Requested via api by user ${principal.name}`);
    const issued = await issueToken(ctx.db, user.id, { note, expiresInSeconds: body.expires_in || null });
    const row = await ctx.db.apiToken.findUniqueOrThrow({ where: { id: issued.id } });
    ctx.logger.info({ user: user.name, by: principal.name, tokenId: issued.id }, "API token issued");
    res.status(201).json({ ...tokenModel(row, user), token: issued.token });
  });

  router.get("/users/:name/tokens/:id", async (req, res) => {
    const user = await targetUser(ctx, req, req.params.name!);
    const row = await ctx.db.apiToken.findFirst({ where: { id: tokenId(req.params.id!), userId: user.id } });
    if (!row) throw new NotFoundError(`no such token ${req.params.id} for user ${user.name}`);
    res.json(tokenModel(row, user));
  });

  router.delete("/users/:name/tokens/:id", async (req, res) => {
    const user = await targetUser(ctx, req, req.params.name!);
    const deleted = await ctx.db.apiToken.deleteMany({ where: { id: tokenId(req.params.id!), userId: user.id } });
    if (deleted.count === 0) throw new NotFoundError(`no such token ${req.params.id} for user ${user.name}`);
    ctx.identifier.clear();
    res.status(204).end();
  });

  return router;
}
