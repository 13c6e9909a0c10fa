/**
 * The registry client's HTTP side against a small fake registry on loopback: the Accept header of a manifest HEAD,
 * basic auth, and the bearer-token exchange real registries (Docker Hub, GHCR, Harbor, GitLab) ask for.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { UnavailableError } from "../../src/errors.js";
import { MANIFEST_ACCEPT, RegistryClient } from "../../src/builder/build/index.js";

let server: http.Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
});

async function fakeRegistry(handler: (req: http.IncomingMessage, res: http.ServerResponse, base: string) => void): Promise<string> {
  let base = "";
  server = http.createServer((req, res) => handler(req, res, base));
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return base;
}

const basic = `Basic ${Buffer.from("robot:s3cret").toString("base64")}`;

describe("RegistryClient", () => {
  it("asks for Docker and OCI manifests and indexes, with basic auth when configured", async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    const url = await fakeRegistry((req, res) => {
      seen.push(req.headers);
      res.statusCode = req.headers.authorization !== basic ? 401 : req.url === "/v2/binder/repo/manifests/abc" ? 200 : 404;
      res.end();
    });
    const host = new URL(url).host;
    const client = new RegistryClient({ url, username: "robot", password: "s3cret" });
    expect(await client.hasImage(`${host}/binder/repo:abc`)).toBe(true);
    expect(await client.hasImage(`${host}/binder/repo:def`)).toBe(false);
    expect(seen[0]!.accept).toBe(MANIFEST_ACCEPT);
    expect(MANIFEST_ACCEPT).toContain("application/vnd.oci.image.index.v1+json");
    expect(client.engineAuth).toEqual({ username: "robot", password: "s3cret", serveraddress: host });
    await expect(client.hasImage("other.example.org/binder/repo:abc")).rejects.toThrow(/not in the configured registry/);
  });

  it("exchanges the credentials for a bearer token when the registry asks for one, and reuses it", async () => {
    const requests: string[] = [];
    const url = await fakeRegistry((req, res, base) => {
      requests.push(`${req.method} ${req.url}`);
      if (req.url?.startsWith("/token")) {
        const ok = req.headers.authorization === basic && req.url.includes("scope=repository%3Abinder%2Frepo%3Apull");
        res.statusCode = ok ? 200 : 401;
        res.end(ok ? JSON.stringify({ token: "tok-1", expires_in: 300 }) : "");
        return;
      }
      if (req.headers.authorization !== "Bearer tok-1") {
        res.statusCode = 401;
        res.setHeader("www-authenticate", `Bearer realm="${base}/token",service="fake",scope="repository:binder/repo:pull"`);
        res.end();
        return;
      }
      res.statusCode = 200;
      res.end();
    });
    const host = new URL(url).host;
    const client = new RegistryClient({ url, username: "robot", password: "s3cret" });
    expect(await client.hasImage(`${host}/binder/repo:abc`)).toBe(true);
    expect(await client.hasImage(`${host}/binder/repo:def`)).toBe(true);
    expect(requests).toEqual([
      "HEAD /v2/binder/repo/manifests/abc",
      "GET /token?service=fake&scope=repository%3Abinder%2Frepo%3Apull",
      "HEAD /v2/binder/repo/manifests/abc",
      "HEAD /v2/binder/repo/manifests/def",
    ]);
  });

  it("reports an unreachable or failing registry without its credentials", async () => {
    const url = await fakeRegistry((_req, res) => {
      res.statusCode = 500;
      res.end();
    });
    const host = new URL(url).host;
    const client = new RegistryClient({ url, username: "robot", password: "s3cret" });
    const failing = await client.hasImage(`${host}/binder/repo:abc`).catch((e: unknown) => e);
    expect(failing).toBeInstanceOf(UnavailableError);
    expect((failing as Error).message).toBe(`the image registry ${host} answered HTTP 500 when looking up ${host}/binder/repo:abc`);
    const closed = new RegistryClient({ url: "http://127.0.0.1:1", username: "robot", password: "s3cret", timeoutMs: 2000 });
    const unreachable = await closed.hasImage("127.0.0.1:1/binder/repo:abc").catch((e: unknown) => e);
    expect(unreachable).toBeInstanceOf(UnavailableError);
    expect((unreachable as Error).message).toMatch(/could not be reached \(ECONNREFUSED\)/);
    expect((unreachable as Error).message).not.toContain("s3cret");
  });

  it("accepts plain http only on loopback", () => {
    expect(() => new RegistryClient({ url: "http://registry.example.org:5000" })).toThrow(/must use https/);
    expect(new RegistryClient({ url: "http://localhost:5000" }).host).toBe("localhost:5000");
    expect(new RegistryClient({ url: "https://registry.example.org" }).engineAuth).toEqual({});
  });
});
