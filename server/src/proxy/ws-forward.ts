/**
 * Forwards an authorised WebSocket upgrade to a user's server and splices the two sockets together. The handshake
 * carries the same rewritten headers as HTTP (injected token, hub cookies stripped); `Sec-WebSocket-Protocol`
 * (Jupyter's `v1.kernel.websocket.jupyter.org`) passes both ways untouched. Activity is reported per data chunk in
 * either direction — a chunk is one or more frames, which is as fine-grained as a throttled idle clock needs.
 */
import { request, type IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { armConnectTimeout } from "./http-forward.js";
import { forwardRequestHeaders, switchingProtocolsHead, type ForwardingContext } from "./headers.js";
import { rejectUpgrade } from "./responses.js";
import type { Route } from "./routes.js";

export interface UpgradeForwarderOptions extends ForwardingContext {
  connectTimeoutMs: number;
  onActivity(user: string, serverName: string): void;
  /** The server could not be reached; the client gets a 503. */
  onUnreachable(err: NodeJS.ErrnoException, route: Route): string;
  onStatus(status: number): void;
}

/** Largest non-101 answer relayed to a client whose upgrade the server refused. */
const MAX_REFUSAL_BODY = 64 * 1024;

/** A live WebSocket connection through the proxy: whose server, and who opened it. */
export interface OpenWebSocket {
  user: string;
  serverName: string;
  /** The name of the identity that opened it (the owner, an admin, or someone the server is shared with). */
  openedBy: string;
}

export class UpgradeForwarder {
  /**
   * Client sockets of live WebSocket connections, with whose server and who opened them, so `closeAll()` can end
   * them on shutdown and `closeWhere()` those of someone whose access was revoked.
   */
  private readonly open = new Map<Duplex, OpenWebSocket>();

  constructor(private readonly opts: UpgradeForwarderOptions) {}

  get openConnections(): number {
    return this.open.size;
  }

  forward(req: IncomingMessage, socket: Duplex, head: Buffer, route: Route, path: string, openedBy: string): void {
    const { opts } = this;
    const proxyReq = request({
      ...route.address,
      method: "GET",
      path,
      headers: forwardRequestHeaders(req, route, opts, true),
      agent: false,
    });
    if (opts.connectTimeoutMs > 0) armConnectTimeout(proxyReq, opts.connectTimeoutMs);
    const abandon = (): void => {
      proxyReq.destroy();
    };
    socket.once("close", abandon);

    proxyReq.on("error", (err: NodeJS.ErrnoException) => {
      if (socket.destroyed) return; // the client left first
      rejectUpgrade(socket, 503, opts.onUnreachable(err, route));
    });

    proxyReq.on("response", (proxyRes) => {
      // The server refused the upgrade (e.g. unknown kernel): relay its answer and close.
      socket.off("close", abandon);
      const status = proxyRes.statusCode ?? 502;
      opts.onStatus(status);
      const chunks: Buffer[] = [];
      let size = 0;
      proxyRes.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_REFUSAL_BODY) chunks.push(chunk);
      });
      proxyRes.on("error", () => socket.destroy());
      proxyRes.on("end", () => {
        if (socket.destroyed) return;
        const body = size <= MAX_REFUSAL_BODY ? Buffer.concat(chunks) : Buffer.alloc(0);
        const type = proxyRes.headers["content-type"];
        socket.once("finish", () => setTimeout(() => socket.destroy(), 1_000).unref());
        socket.end(
          Buffer.concat([
            Buffer.from(
              `HTTP/1.1 ${status} ${proxyRes.statusMessage ?? ""}\r\n` +
                (type ? `Content-Type: ${type}\r\n` : "") +
                `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
            ),
            body,
          ]),
        );
      });
    });

    proxyReq.on("upgrade", (proxyRes, serverSocket: Socket, serverHead: Buffer) => {
      socket.off("close", abandon);
      if (socket.destroyed) {
        serverSocket.destroy();
        return;
      }
      opts.onStatus(101);
      socket.write(switchingProtocolsHead(proxyRes, opts.cookies, route.prefix));
      if (serverHead.length > 0) socket.write(serverHead);
      if (head.length > 0) serverSocket.write(head);
      this.splice(socket, serverSocket, route, openedBy);
    });

    proxyReq.end();
  }

  /** Pipes the two sockets into each other, reports activity and tears both down together. */
  private splice(client: Duplex, server: Socket, route: Route, openedBy: string): void {
    const { user, serverName } = route;
    const onActivity = this.opts.onActivity;
    const activity = (): void => onActivity(user, serverName);
    this.open.set(client, { user, serverName, openedBy });
    (client as Partial<Socket>).setNoDelay?.(true);
    server.setNoDelay(true);
    server.setTimeout(0);
    let closed = false;
    const teardown = (): void => {
      if (closed) return;
      closed = true;
      this.open.delete(client);
      client.destroy();
      server.destroy();
    };
    client.on("error", teardown);
    server.on("error", teardown);
    client.on("close", teardown);
    server.on("close", teardown);
    server.pipe(client);
    client.pipe(server);
    client.on("data", activity);
    server.on("data", activity);
  }

  /** Closes every live WebSocket connection (hub shutdown). */
  closeAll(): void {
    for (const socket of this.open.keys()) socket.destroy();
    this.open.clear();
  }

  /** The live connections (for a check of who may still use them). */
  connections(): [Duplex, OpenWebSocket][] {
    return [...this.open];
  }

  /** Closes one live connection (its teardown removes it). */
  close(socket: Duplex): void {
    socket.destroy();
  }
}
