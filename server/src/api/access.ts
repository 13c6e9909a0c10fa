/**
 * Authorisation for the REST API, in one place. Users act on themselves; admins act on everyone. A request for
 * another user's resources answers exactly as if they did not exist (404), so names cannot be probed.
 */
import type { Request } from "express";
import { ForbiddenError, NotFoundError } from "../errors.js";
import type { Principal } from "../auth/principal.js";
import type { HubContext } from "../hub/context.js";

export function principalOf(req: Request): Principal {
  if (!req.principal) throw new ForbiddenError("authentication required: send `Authorization: token <token>` or sign in");
  return req.principal;
}

/** Loads the user named in the path if the requester may act on them; 404 otherwise. */
export async function targetUser(ctx: HubContext, req: Request, name: string) {
  const principal = principalOf(req);
  if (!principal.admin && principal.name !== name) {
    throw new NotFoundError(`no such user: ${name} (or no access to it)`);
  }
  return ctx.users.get(name);
}

export function mustBeAdmin(req: Request): Principal {
  const principal = principalOf(req);
  if (!principal.admin) throw new ForbiddenError("this action needs an administrator");
  return principal;
}
