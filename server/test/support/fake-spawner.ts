/**
 * FakeSpawner: a spawner backend for the hub's lifecycle tests, named a fake because it is one. Its "servers" are tiny
 * HTTP servers in the test process that answer what the hub and the spawner contract ask of a Jupyter server
 * (`api/status` with the token, 403 without; `api/contents/<file>` GET and PUT), and its "storage" is a map that
 * outlives stops. Both live in a module-level machine, so a fresh factory finds a server again from its saved state
 * the way a restarted hub does. It passes the same contract as the real backends (test/spawners/contract.test.ts).
 *
 * `outcome` makes a start go wrong on purpose: `exit` (the server exits at once with code 3 and two log lines),
 * `refuse` (the backend refuses to start it), `silent` (it never answers: the hub's start timeout), plus `delayMs`
 * before the endpoint is known.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { SpawnError } from "../../src/errors.js";
import type { BackendState, Endpoint, Enforcement, PollResult, ServerIdentity, SpawnContext, Spawner, SpawnerFactory, SpawnProgress } from "../../src/spawners/types.js";

export interface FakeOptions {
  outcome?: "ready" | "exit" | "refuse" | "silent";
  delayMs?: number;
}

interface FakeServer {
  server: http.Server;
  token: string;
  exitCode: number | null;
  log: string[];
}

/** Every SpawnContext the fake backend was handed, in order (what the hub resolved for each start). */
export const fakeStarts: SpawnContext[] = [];

/** The fake machine: servers by port, storage by server. */
const servers = new Map<number, FakeServer>();
const storage = new Map<string, Map<string, string>>();
const keyOf = (identity: ServerIdentity): string => `${identity.user}\0${identity.serverName}`;

function serve(identity: ServerIdentity, ctx: SpawnContext, answer: boolean): Promise<{ port: number; server: FakeServer }> {
  const files = storage.get(keyOf(identity)) ?? new Map<string, string>();
  storage.set(keyOf(identity), files);
  const fake: FakeServer = { server: http.createServer(), token: ctx.token, exitCode: null, log: [] };
  fake.server.on("request", (req, res) => {
    if (!answer) return; // a server that never answers: the request hangs until the client gives up
    if (req.headers.authorization !== `token ${fake.token}`) return void res.writeHead(403).end();
    const route = (req.url ?? "").split("?")[0]!.slice(ctx.baseUrl.length);
    const send = (status: number, body?: unknown) => {
      res.writeHead(status, { "content-type": "application/json" }).end(body === undefined ? "" : JSON.stringify(body));
    };
    if (route === "api/status") return send(200, { started: new Date().toISOString(), connections: 0, kernels: 0 });
    const file = /^api\/contents\/(.+)$/.exec(route)?.[1];
    if (!file) return send(404);
    if (req.method === "GET") return files.has(file) ? send(200, { type: "file", content: files.get(file) }) : send(404);
    if (req.method === "PUT") {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => {
        files.set(file, (JSON.parse(body) as { content: string }).content);
        send(201, { type: "file" });
      });
      return;
    }
    send(405);
  });
  return new Promise((resolve) => {
    fake.server.listen(0, "127.0.0.1", () => {
      const { port } = fake.server.address() as AddressInfo;
      servers.set(port, fake);
      resolve({ port, server: fake });
    });
  });
}

async function close(port: number): Promise<void> {
  const fake = servers.get(port);
  if (!fake) return;
  servers.delete(port);
  fake.server.closeAllConnections();
  await new Promise<void>((resolve) => fake.server.close(() => resolve()));
}

const enforcement: Enforcement = {
  cpu: { enforced: false, reason: "a fake server has no limits" },
  memory: { enforced: false, reason: "a fake server has no limits" },
  storage: { enforced: false, reason: "a fake server has no limits" },
  processes: { enforced: false, reason: "a fake server has no limits" },
};

export class FakeSpawner implements Spawner {
  readonly backend = "fake";
  private port: number | undefined;

  constructor(
    private readonly identity: ServerIdentity,
    private readonly options: FakeOptions,
  ) {}

  async start(ctx: SpawnContext, signal: AbortSignal, onProgress: (p: SpawnProgress) => void): Promise<Endpoint> {
    fakeStarts.push(structuredClone(ctx));
    if (this.options.outcome === "refuse") throw new SpawnError("backend", "the fake backend refuses to start servers");
    onProgress({ progress: 20, message: "Fake server requested" });
    const { port, server } = await serve(this.identity, ctx, this.options.outcome !== "silent");
    this.port = port;
    if (this.options.outcome === "exit") {
      server.exitCode = 3;
      server.log.push("fake: starting", "fake: configuration error, exiting");
      server.server.close();
    }
    onProgress({ progress: 50, message: "Waiting for the server to listen" });
    if (this.options.delayMs) await new Promise((r) => setTimeout(r, this.options.delayMs));
    if (signal.aborted) {
      await this.stop();
      throw signal.reason;
    }
    return { url: `http://127.0.0.1:${port}` };
  }

  async stop(): Promise<void> {
    if (this.port !== undefined) await close(this.port);
    this.port = undefined;
  }

  async poll(): Promise<PollResult> {
    const fake = this.port === undefined ? undefined : servers.get(this.port);
    if (!fake) return { running: false, exitCode: null };
    return fake.exitCode === null ? { running: true } : { running: false, exitCode: fake.exitCode };
  }

  state(): BackendState {
    return this.port === undefined ? {} : { port: this.port };
  }

  restore(state: BackendState): void {
    this.port = typeof state.port === "number" ? state.port : undefined;
  }

  async removeStorage(): Promise<void> {
    storage.delete(keyOf(this.identity));
  }

  async recentLog(): Promise<string[]> {
    return (this.port === undefined ? undefined : servers.get(this.port))?.log ?? [];
  }

  async storageUsed(): Promise<number | undefined> {
    return [...(storage.get(keyOf(this.identity))?.values() ?? [])].reduce((n, text) => n + text.length, 0);
  }

  enforcement(): Enforcement {
    return enforcement;
  }
}

export function fakeSpawnerFactory(options: FakeOptions = {}): SpawnerFactory {
  return {
    backend: "fake",
    create: (identity) => new FakeSpawner(identity, options),
    isolation: () => ({ separated: false, summary: "Fake servers in the test process (a test double).", warnings: [] }),
  };
}

/** What the fake machine still holds of `identity`'s servers: running servers and storage. */
export function fakeLeftovers(): string[] {
  return [...[...servers.keys()].map((port) => `server on port ${port}`), ...[...storage.keys()].map((key) => `storage ${key.replace("\0", "/")}`)];
}
