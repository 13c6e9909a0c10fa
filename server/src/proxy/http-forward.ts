/**
 * Forwards one HTTP request to a user's server over a shared keep-alive agent and streams the answer back.
 * The hot path does one header copy each way and no URL parsing; bodies are streamed, never buffered.
 */
import { request, type Agent, type ClientRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { forwardRequestHeaders, forwardResponseHeaders, type ForwardingContext } from "./headers.js";
import type { Route } from "./routes.js";

export interface HttpForwarderOptions extends ForwardingContext {
  agent: Agent;
  /** 0 disables; otherwise a new TCP connection that takes longer fails the request (503). */
  connectTimeoutMs: number;
  /** The server could not be reached (or failed before answering); headers have not been sent. */
  onUnreachable(err: NodeJS.ErrnoException, req: IncomingMessage, res: ServerResponse, route: Route): void;
  /** The server answered with `status` (for metrics). */
  onStatus(status: number): void;
}

export type HttpForwarder = (req: IncomingMessage, res: ServerResponse, route: Route, path: string) => void;

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/** Aborts `proxyReq` if its socket is new and does not connect within `ms`. */
export function armConnectTimeout(proxyReq: ClientRequest, ms: number): void {
  proxyReq.once("socket", (socket) => {
    if (!socket.connecting) return;
    const timer = setTimeout(() => {
      const err: NodeJS.ErrnoException = new Error(`connect timeout after ${ms} ms`);
      err.code = "ECONNECT_TIMEOUT";
      proxyReq.destroy(err);
    }, ms);
    socket.once("connect", () => clearTimeout(timer));
    proxyReq.once("close", () => clearTimeout(timer));
  });
}

export function createHttpForwarder(opts: HttpForwarderOptions): HttpForwarder {
  const send = (req: IncomingMessage, res: ServerResponse, route: Route, path: string, retry: boolean): void => {
    const body = hasBody(req);
    const proxyReq = request({
      ...route.address,
      method: req.method,
      path,
      headers: forwardRequestHeaders(req, route, opts, false),
      agent: opts.agent,
    });
    if (opts.connectTimeoutMs > 0) armConnectTimeout(proxyReq, opts.connectTimeoutMs);

    proxyReq.on("response", (proxyRes) => {
      if (res.destroyed) {
        proxyRes.resume();
        return;
      }
      const status = proxyRes.statusCode ?? 502;
      res.writeHead(status, forwardResponseHeaders(proxyRes, opts.cookies, route.prefix));
      opts.onStatus(status);
      // The server died mid-body: cut the client off rather than end a truncated body as if it were complete.
      proxyRes.on("error", () => res.destroy());
      proxyRes.pipe(res);
    });

    proxyReq.on("error", (err: NodeJS.ErrnoException) => {
      if (res.destroyed) return; // the client went away first; nothing to answer
      // A keep-alive socket the server closed just as we reused it: safe to retry once when nothing was sent.
      if (retry && proxyReq.reusedSocket && err.code === "ECONNRESET" && !body && !res.headersSent) {
        send(req, res, route, path, false);
        return;
      }
      if (res.headersSent) res.destroy();
      else opts.onUnreachable(err, req, res, route);
    });

    // Client aborted before the answer was complete: release the server-side request and its socket.
    res.once("close", () => {
      if (!res.writableFinished) proxyReq.destroy();
    });

    if (body) {
      req.once("error", () => proxyReq.destroy());
      req.pipe(proxyReq);
    } else {
      proxyReq.end();
    }
  };
  return (req, res, route, path) => send(req, res, route, path, req.method === "GET" || req.method === "HEAD");
}
