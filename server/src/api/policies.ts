/**
 * Ganymede's policy endpoints (no JupyterHub equivalent): the policy files the hub has loaded and whether they are
 * valid (admins), a user's effective limits with the policy each one comes from, and the environments and sizes
 * offered to them (the user or an admin). The
 * explanation is the same function `ganymede policy explain` prints, so the dashboard and the CLI cannot disagree.
 */
import { Router } from "express";
import type { HubContext } from "../hub/context.js";
import { matchingPolicies, offerFor } from "../policy/index.js";
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

  // What the user may start a server as (the dashboard's choice; KubeSpawner shows its profile_list in a form).
  router.get("/users/:name/environments", async (req, res) => {
    const user = await targetUser(ctx, req, req.params.name!);
    const policyUser = { name: user.name, groups: ctx.users.groupsOf(user) };
    const offer = offerFor(ctx.policy.set, policyUser, ctx.policy.limitsFor(policyUser));
    res.json({
      environments: offer.environments.map((e) => ({
        name: e.name,
        display_name: e.displayName,
        description: e.description ?? null,
        default: e.name === offer.defaultEnvironment,
        image: e.image ?? null,
        cpu: e.cpu ?? null,
        memory_bytes: e.memory ?? null,
        gpus: e.gpus ?? 0,
        policy: e.policy,
      })),
      default: offer.defaultEnvironment,
      sizes: offer.sizes.map((s) => ({ name: s.name, display_name: s.displayName, cpu: s.cpu, memory_bytes: s.memory, policy: s.policy })),
    });
  });

  return router;
}
