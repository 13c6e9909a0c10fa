/** The proxy's answer when a request reaches no running server: 503, as a page for browsers and JSON otherwise. */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Servers } from "../servers/service.js";
import { escapeHtml, page } from "./html.js";

export function notRunningHandler(servers: Servers) {
  return (req: IncomingMessage, res: ServerResponse, user: string, candidate: string): void => {
    void servers.notRunningMessage(user, candidate).then((message) => {
      if ((req.headers.accept ?? "").includes("text/html")) {
        res.writeHead(503, { "content-type": "text/html; charset=utf-8" });
        res.end(page("Not running", `<section class="card"><h1>${escapeHtml(message)}</h1><p><a href="/hub/home">Back to the hub</a> to start it.</p></section>`));
      } else {
        res.writeHead(503, { "content-type": "application/json" });
        res.end(JSON.stringify({ status: 503, message, error: "not_running" }));
      }
    });
  };
}
