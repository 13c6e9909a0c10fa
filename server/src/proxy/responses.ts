/**
 * The proxy's own answers (refusals, redirects, backend failures), as JSON for API clients and a short HTML page for
 * browsers, in the hub's error shape `{ status, error, message }`. Also the same answers written to a raw socket,
 * for WebSocket upgrades that are refused before any handshake.
 */
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { wantsHtml } from "./access.js";

const ERROR_CODES: Record<number, string> = {
  403: "forbidden",
  404: "not_found",
  500: "internal",
  502: "bad_gateway",
  503: "unavailable",
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function jsonBody(status: number, message: string): string {
  return JSON.stringify({ status, error: ERROR_CODES[status] ?? "error", message });
}

function htmlBody(status: number, message: string): string {
  const title = `${status} ${STATUS_CODES[status] ?? "Error"}`;
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><p>${escapeHtml(message)}</p></body></html>\n`;
}

/** Answers with an error page or JSON error, depending on what the client accepts. */
export function sendError(req: IncomingMessage, res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const html = wantsHtml(req);
  const body = html ? htmlBody(status, message) : jsonBody(status, message);
  res.writeHead(status, {
    "content-type": html ? "text/html; charset=utf-8" : "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-store",
  });
  res.end(req.method === "HEAD" ? undefined : body);
}

export function sendRedirect(res: ServerResponse, location: string): void {
  res.writeHead(302, { location, "content-length": 0, "cache-control": "no-store" });
  res.end();
}

/** Refuses a WebSocket upgrade with a JSON error and closes the socket. */
export function rejectUpgrade(socket: Duplex, status: number, message: string): void {
  if (socket.destroyed) return;
  const body = jsonBody(status, message);
  // A client that never closes its side must not keep the socket: destroy shortly after the answer is flushed.
  socket.once("finish", () => setTimeout(() => socket.destroy(), 1_000).unref());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}\r\n` +
      "Content-Type: application/json; charset=utf-8\r\n" +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      "Cache-Control: no-store\r\n" +
      "Connection: close\r\n\r\n" +
      body,
  );
}
