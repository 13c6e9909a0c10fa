/**
 * Ganymede's policy endpoints (no JupyterHub equivalent): the policy files the hub has loaded and whether they are
 * valid (admins), and a user's effective limits with the policy each one comes from (the user or an admin). The
 * explanation is the same function `ganymede policy explain` prints, so the dashboard and the CLI cannot disagree.
 */
import { Router } from "express";
import type { HubContext } from "../hub/context.js";
import { matchingPolicies } from "../policy/index.js";
import { mustBeAdmin, targetUser } from "./access.js";

export function policiesRouter(ctx: HubContext): Router {
  const router = Router();

  router.get("/policies", (req, res) => {
    mustBeAdmin(req);
    res.json(ctx.policy.status());
  });

  router.get("/users/:name/policy", async (req, res) => {
    const user = await targetUser(ctx, req, req.params.name!);
    const policyUser = { name: user.name, groups: ctx.users.groupsOf(user) };
    const set = ctx.policy.set;
    res.json({
      name: user.name,
      groups: policyUser.groups,
      policies: [set.defaultPolicy, ...matchingPolicies(set, policyUser)].map((p) => ({
        name: p.name,
        file: p.file,
        priority: p === set.defaultPolicy ? null : (p.priority ?? 0),
      })),
      limits: ctx.policy.explain(policyUser),
    });
  });

  return router;
}
