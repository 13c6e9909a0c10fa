/**
 * Ganymede's audit endpoint (no JupyterHub equivalent), for administrators:
 *
 *   GET /hub/api/audit?user=&actor=&action=&outcome=&since=&until=&limit=&before=
 *       → { events: [newest first], next?: <cursor for ?before=> }
 *   GET /hub/api/audit?format=jsonl&…   → every matching event, one JSON object per line (an export)
 *
 * `action` is an action (`server.start`) or a prefix ending in a dot (`server.`); `since`/`until` are ISO 8601 times.
 */
import { Router } from "express";
import { z } from "zod";
import type { HubContext } from "../hub/context.js";
import { parseOr400 } from "../http/validate.js";
import { mustBeAdmin } from "./access.js";

const time = z.iso.datetime({ offset: true }).transform((s) => new Date(s));

const querySchema = z
  .object({
    user: z.string().min(1).optional(),
    actor: z.string().min(1).optional(),
    action: z.string().min(1).optional(),
    outcome: z.enum(["ok", "refused", "failed"]).optional(),
    since: time.optional(),
    until: time.optional(),
    before: z.coerce.number().int().positive().optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    format: z.enum(["json", "jsonl"]).default("json"),
  })
  .strict();

export function auditRouter(ctx: HubContext): Router {
  const router = Router();

  router.get("/audit", async (req, res) => {
    mustBeAdmin(req);
    const { format, ...query } = parseOr400(querySchema, req.query, "query");
    if (format === "json") {
      res.json(await ctx.audit.query(query));
      return;
    }
    res.type("application/x-ndjson");
    res.setHeader("Content-Disposition", 'attachment; filename="ganymede-audit.jsonl"');
    for await (const event of ctx.audit.all(query)) {
      if (res.destroyed) break;
      res.write(`${JSON.stringify(event)}\n`);
    }
    res.end();
  });

  return router;
}
