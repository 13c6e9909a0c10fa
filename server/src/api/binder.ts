/**
 * GET /hub/api/binder: whether Binder launches are enabled. GET /hub/api/binder/launch-link: what the dashboard's
 * Binder form launches. The hub parses what was pasted (a
 * repository page URL, `owner/repo`, any git URL) with the same rules and policies as a launch, so the form shows a
 * refusal before anything starts, and answers with the shareable launch link and README badge.
 */
import { Router } from "express";
import { z } from "zod";
import { badgeMarkdown, formTarget, launchPath, parsePastedRepo } from "../builder/index.js";
import { NotFoundError, PolicyDenied } from "../errors.js";
import type { HubContext } from "../hub/context.js";
import { parseOr400 } from "../http/validate.js";
import { principalOf } from "./access.js";

const linkQuery = z.object({
  repo: z.string().min(1).max(2048),
  ref: z.string().max(256).optional(),
  /** A file to open in JupyterLab (BinderHub's labpath), or a URL path inside the server when it starts with "/". */
  path: z.string().max(1024).optional(),
});

export function binderApiRouter(ctx: HubContext): Router {
  const router = Router();
  // Whether this hub launches repositories (the dashboard shows its Binder form only then).
  router.get("/binder", (req, res) => {
    principalOf(req);
    res.json({ enabled: ctx.binder !== undefined });
  });
  router.get("/binder/launch-link", async (req, res) => {
    const principal = principalOf(req);
    if (!ctx.binder) throw new NotFoundError("Binder launches are not enabled on this hub (builder.enabled)");
    const q = parseOr400(linkQuery, req.query, "query");
    const user = await ctx.users.get(principal.name);
    const policyUser = { name: user.name, groups: ctx.users.groupsOf(user) };
    const pasted = parsePastedRepo(q.repo, q.ref, ctx.binder.urlRules(policyUser));
    const decision = ctx.policy.mayLaunchRepository(policyUser, pasted.spec.repoUrl);
    if (!decision.allow) throw new PolicyDenied(decision.reasons);
    const target = formTarget(q.path, pasted);
    const base = ctx.config.hub.publicUrl ?? `${req.protocol}://${req.get("host")}`;
    const launch = launchPath(pasted.spec, target);
    const launchUrl = new URL(launch, base).toString();
    res.json({
      spec: pasted.spec.spec,
      launch_path: launch,
      launch_url: launchUrl,
      badge_markdown: badgeMarkdown(launchUrl, new URL("/badge_logo.svg", base).toString()),
    });
  });
  return router;
}
