/** The proxy's answer when a request reaches no running server: 503, as a page for browsers and JSON otherwise. */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Servers } from "../servers/service.js";
import { escapeHtml, page } from "./html.js";

export function notRunningHandler(servers: Servers) {
  return (req: IncomingMessage, res: ServerResponse, user: string, candidate: string): void => {
    void servers.notRunning(user, candidate).then(({ server, message }) => {
      if ((req.headers.accept ?? "").includes("text/html")) {
        // The dashboard's spawn page offers to start it (when the visitor may) and follows the start into the server.
        const start = `/hub/spawn-pending/${encodeURIComponent(user)}${server ? `/${encodeURIComponent(server)}` : ""}`;
        res.writeHead(503, { "content-type": "text/html; charset=utf-8" });
        res.end(page("Not running", `<section class="card"><h1>${escapeHtml(message)}</h1><p><a href="${escapeHtml(start)}">Start it</a> or go <a href="/hub/home">back to the hub</a>.</p></section>`));
      } else {
        res.writeHead(503, { "content-type": "application/json" });
        res.end(JSON.stringify({ status: 503, message, error: "not_running" }));
      }
    });
  };
}
