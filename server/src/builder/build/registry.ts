/**
 * The registry built images are pushed to, spoken to directly over the Distribution (registry v2) HTTP API:
 * `HEAD /v2/<name>/manifests/<tag>` answers "is this commit built?" without pulling anything, whichever engine or
 * cluster built it, and `DELETE` of the manifest removes a tag a cancelled push left behind.
 *
 * Plain http is only accepted for a loopback registry (as the Docker engine itself only trusts loopback over http
 * without configuration). Credentials, when configured, are sent as HTTP basic auth, or exchanged for a bearer token
 * when the registry asks for one (Docker Hub, GHCR, Harbor, GitLab: `WWW-Authenticate: Bearer realm=…`); they are
 * never logged nor put into a message.
 */
import http from "node:http";
import https from "node:https";
import { isIP } from "node:net";
import { UnavailableError } from "../../errors.js";

/** What a HEAD must accept to find single-platform and multi-platform images, Docker's and OCI's. */
export const MANIFEST_ACCEPT = [
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
].join(", ");

export interface RegistryOptions {
  /** `http(s)://host[:port]` (the builder config's `registry.url`). */
  url: string;
  username?: string;
  password?: string;
  /** Per request; default 15 s. */
  timeoutMs?: number;
}

export interface ImageReference {
  /** `host[:port]` */
  host: string;
  /** The repository inside the registry, e.g. `ganymede-binder/repo-1a2b3c4d`. */
  repository: string;
  tag: string;
}

/** `127.0.0.1:5000/binder/repo:abc` → host, repository, tag. Digests (`@sha256:`) are not image names we make. */
export function parseImageReference(image: string): ImageReference {
  const slash = image.indexOf("/");
  const colon = image.lastIndexOf(":");
  if (slash <= 0 || colon < slash || image.includes("@")) {
    throw new Error(`${JSON.stringify(image)} is not a registry image reference (host/repository:tag)`);
  }
  return { host: image.slice(0, slash), repository: image.slice(slash + 1, colon), tag: image.slice(colon + 1) };
}

function isLoopback(hostname: string): boolean {
  const bare = hostname.replace(/^\[(.*)\]$/, "$1");
  if (bare === "localhost") return true;
  if (isIP(bare) === 4) return bare.startsWith("127.");
  return bare === "::1";
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export class RegistryClient {
  /** `host[:port]`, the first part of every image name in this registry. */
  readonly host: string;
  private readonly base: URL;
  private readonly timeoutMs: number;
  /** Bearer tokens by scope, until shortly before they expire. */
  private readonly tokens = new Map<string, { token: string; until: number }>();

  constructor(private readonly options: RegistryOptions) {
    const url = new URL(options.url);
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new Error(`the registry URL must be http(s)://host[:port]; got ${url.protocol}`);
    }
    if (url.protocol === "http:" && !isLoopback(url.hostname)) {
      throw new Error(`the registry ${url.host} must use https (plain http is only accepted on loopback)`);
    }
    this.base = new URL(`${url.protocol}//${url.host}`);
    this.host = url.host;
    this.timeoutMs = options.timeoutMs ?? 15_000;
  }

  /** Whether the registry speaks plain HTTP (allowed on loopback only): builders must be told. */
  get plainHttp(): boolean {
    return this.base.protocol === "http:";
  }

  /** What the Docker engine needs to push here (X-Registry-Auth); `{}` without credentials, which it still requires. */
  get engineAuth(): { username?: string; password?: string; serveraddress?: string } {
    const { username, password } = this.options;
    return username !== undefined ? { username, password: password ?? "", serveraddress: this.host } : {};
  }

  /** Whether the registry has `image` (a tag): one HEAD of its manifest. */
  async hasImage(image: string, signal?: AbortSignal): Promise<boolean> {
    const ref = this.own(image);
    const answer = await this.call("HEAD", manifestPath(ref, ref.tag), signal, { accept: MANIFEST_ACCEPT });
    if (answer.status === 200) return true;
    if (answer.status === 404) return false;
    throw this.unexpected(answer, `looking up ${image}`);
  }

  /**
   * Removes the tag `image` (its manifest) if it exists: what a cancelled or failed push may have left. Resolves
   * false when there was nothing, or when the registry does not allow deletes (distribution's default: then the
   * tag stays, and is overwritten by the next successful push of the same commit).
   */
  async deleteImage(image: string, signal?: AbortSignal): Promise<boolean> {
    const ref = this.own(image);
    const head = await this.call("HEAD", manifestPath(ref, ref.tag), signal, { accept: MANIFEST_ACCEPT });
    if (head.status === 404) return false;
    const digest = head.headers["docker-content-digest"];
    if (head.status !== 200 || typeof digest !== "string") throw this.unexpected(head, `looking up ${image}`);
    const answer = await this.call("DELETE", manifestPath(ref, digest), signal, {});
    if (answer.status === 202 || answer.status === 200 || answer.status === 404) return answer.status !== 404;
    if (answer.status === 405 || answer.status === 400) return false; // deletes disabled
    throw this.unexpected(answer, `removing ${image}`);
  }

  private own(image: string): ImageReference {
    const ref = parseImageReference(image);
    if (ref.host !== this.host) throw new Error(`${image} is not in the configured registry ${this.host}`);
    return ref;
  }

  private unexpected(answer: Answer, what: string): UnavailableError {
    return new UnavailableError(`the image registry ${this.host} answered HTTP ${answer.status} when ${what}`);
  }

  /** One request, authenticated the way the registry asks (basic, or a bearer token for the challenge's scope). */
  private async call(method: string, path: string, signal: AbortSignal | undefined, headers: Record<string, string>): Promise<Answer> {
    const url = new URL(path, this.base);
    const basic = this.basicAuth();
    const cached = this.cachedToken(url.pathname, method);
    const answer = await this.request(method, url, { ...headers, ...(cached ? { authorization: `Bearer ${cached}` } : basic) }, signal);
    if (answer.status !== 401) return answer;
    const challenge = parseChallenge(answer.headers["www-authenticate"]);
    // Basic credentials were sent already (or none are configured): that 401 stands.
    if (!challenge || challenge.scheme !== "bearer") return answer;
    const token = await this.fetchToken(challenge.params, signal);
    if (!token) return answer;
    return this.request(method, url, { ...headers, authorization: `Bearer ${token}` }, signal);
  }

  private basicAuth(): { authorization?: string } {
    const { username, password } = this.options;
    if (username === undefined) return {};
    return { authorization: `Basic ${Buffer.from(`${username}:${password ?? ""}`).toString("base64")}` };
  }

  private cachedToken(pathname: string, method: string): string | undefined {
    for (const [scope, entry] of this.tokens) {
      if (entry.until < Date.now()) this.tokens.delete(scope);
      else if (scopeCovers(scope, pathname, method)) return entry.token;
    }
    return undefined;
  }

  /** The token exchange of the registry token spec: GET realm?service=…&scope=…, with the credentials as basic auth. */
  private async fetchToken(params: Record<string, string>, signal: AbortSignal | undefined): Promise<string | undefined> {
    const realm = params.realm;
    if (!realm) return undefined;
    const url = new URL(realm);
    if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopback(url.hostname))) return undefined;
    if (params.service) url.searchParams.set("service", params.service);
    if (params.scope) url.searchParams.set("scope", params.scope);
    const answer = await this.request("GET", url, this.basicAuth(), signal);
    if (answer.status !== 200) return undefined;
    try {
      const body = JSON.parse(answer.body) as { token?: string; access_token?: string; expires_in?: number };
      const token = body.token ?? body.access_token;
      if (!token) return undefined;
      // Tokens live 60 s unless the answer says otherwise; renewed a little before.
      const lifetime = Math.max(10, (body.expires_in ?? 60) - 10) * 1000;
      if (params.scope) this.tokens.set(params.scope, { token, until: Date.now() + lifetime });
      return token;
    } catch {
      return undefined;
    }
  }

  /**
   * node:http with a hard timeout and the caller's signal. (A global fetch() to a port that keeps resetting
   * connections was seen never to settle; this one always does.)
   */
  private request(method: string, url: URL, headers: Record<string, string>, signal?: AbortSignal): Promise<Answer> {
    const client = url.protocol === "https:" ? https : http;
    return new Promise((resolve, reject) => {
      const req = client.request(url, { method, headers, timeout: this.timeoutMs, signal, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          // Only token answers are read; a registry has no reason to send megabytes here.
          if ((size += chunk.length) <= 1024 * 1024) chunks.push(chunk);
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      });
      req.on("timeout", () => req.destroy(new Error(`no answer within ${this.timeoutMs / 1000} s`)));
      req.on("error", (err: NodeJS.ErrnoException) => {
        if (signal?.aborted) reject(signal.reason);
        else reject(new UnavailableError(`the image registry ${url.host} could not be reached (${err.code ?? err.message})`));
      });
      req.end();
    });
  }
}

function manifestPath(ref: ImageReference, reference: string): string {
  return `/v2/${ref.repository}/manifests/${encodeURIComponent(reference)}`;
}

/** `Bearer realm="https://auth.example/token",service="registry",scope="repository:a/b:pull"` → scheme + params. */
export function parseChallenge(header: string | undefined): { scheme: string; params: Record<string, string> } | undefined {
  if (!header) return undefined;
  const match = /^\s*(\w+)\s*(.*)$/.exec(header);
  if (!match) return undefined;
  const params: Record<string, string> = {};
  for (const [, key, quoted, bare] of match[2]!.matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]*))/g)) params[key!.toLowerCase()] = quoted ?? bare ?? "";
  return { scheme: match[1]!.toLowerCase(), params };
}

/** Whether a token for `scope` (e.g. `repository:a/b:pull,push`) serves a request to `pathname` with `method`. */
function scopeCovers(scope: string, pathname: string, method: string): boolean {
  const match = /^repository:(.+):([a-z,*]+)$/.exec(scope);
  if (!match) return false;
  const [, repository, actions] = match;
  if (!pathname.startsWith(`/v2/${repository}/`)) return false;
  const needed = method === "DELETE" ? "delete" : "pull";
  return actions!.split(",").some((a) => a === needed || a === "*");
}
