/** Pure parts of the proxy: route lookup, header/URL rewriting, cross-site checks. */
import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { checkOrigin, checkXsrf, isStateChanging } from "../../src/proxy/csrf.js";
import { CookieFilter, cookieValues, stripTokenParam } from "../../src/proxy/headers.js";
import { RouteTable, routePrefix } from "../../src/proxy/routes.js";
import { dropServerToken } from "../../src/proxy/user-proxy.js";
import { unixEndpoint } from "../../src/lib/endpoint.js";

function fakeReq(method: string, headers: Record<string, string>): IncomingMessage {
  return { method, headers } as unknown as IncomingMessage;
}

describe("RouteTable", () => {
  const table = new RouteTable("/user/");
  table.add({ user: "alice", serverName: "", target: "http://127.0.0.1:9001", token: "a" });
  table.add({ user: "alice", serverName: "work", target: "http://127.0.0.1:9002", token: "w" });
  table.add({ user: "bob@example.org", serverName: "", target: "http://[::1]:9003", token: "b" });

  it("routes to Unix sockets as well as TCP ports", () => {
    const sockets = new RouteTable("/user/");
    const route = sockets.add({ user: "carol", serverName: "", target: unixEndpoint("/run/ganymede/a b/jupyter.sock"), token: "c" });
    expect(route.address).toEqual({ socketPath: "/run/ganymede/a b/jupyter.sock" });
    expect(() => sockets.add({ user: "carol", serverName: "x", target: "http+unix://relative.sock", token: "c" })).toThrow(/absolute/);
    expect(() => sockets.add({ user: "carol", serverName: "y", target: "https://127.0.0.1:1", token: "c" })).toThrow(/https/);
  });

  it("prefers the named server, falls back to the default server", () => {
    expect(table.lookup("/user/alice/work/api/status")?.route?.address).toEqual({ host: "127.0.0.1", port: 9002 });
    expect(table.lookup("/user/alice/lab/tree")?.route?.address).toEqual({ host: "127.0.0.1", port: 9001 });
    expect(table.lookup("/user/alice/")?.route?.address).toEqual({ host: "127.0.0.1", port: 9001 });
    expect(table.lookup("/user/alice/lab/tree")?.candidate).toBe("lab");
  });

  it("marks paths that stop at a prefix without its slash", () => {
    expect(table.lookup("/user/alice/work")).toMatchObject({ bare: true, route: { serverName: "work" } });
    expect(table.lookup("/user/alice")).toMatchObject({ bare: true, route: { serverName: "" } });
    expect(table.lookup("/user/alice/work/")?.bare).toBe(false);
  });

  it("decodes segments consistently and rejects malformed ones", () => {
    expect(table.lookup("/user/al%69ce/work/x")?.route?.serverName).toBe("work");
    expect(table.lookup("/user/bob@example.org/x")?.route?.address).toEqual({ host: "::1", port: 9003 });
    expect(table.lookup("/user/bob%40example.org/x")?.route?.token).toBe("b");
    expect(table.lookup("/user/%E0%A4%A/x")).toBeUndefined();
    expect(table.lookup("/user/a%2Fb/x")).toBeUndefined();
    expect(table.lookup("/user//x")).toBeUndefined();
    expect(table.lookup("/hub/api")).toBeUndefined();
  });

  it("reports user and candidate when nothing is routed", () => {
    expect(table.lookup("/user/carol/box/api")).toEqual({ user: "carol", candidate: "box", route: undefined, bare: false });
  });

  it("removes routes", () => {
    const t = new RouteTable();
    t.add({ user: "u", serverName: "s", target: "http://127.0.0.1:1", token: "t" });
    expect(t.size).toBe(1);
    expect(t.remove("u", "s")).toBe(true);
    expect(t.remove("u", "s")).toBe(false);
    expect(t.lookup("/user/u/s/")?.route).toBeUndefined();
  });

  it("builds prefixes browsers send", () => {
    expect(routePrefix("/user/", "bob@example.org", "")).toBe("/user/bob@example.org/");
    expect(routePrefix("/user/", "a b", "my-server")).toBe("/user/a%20b/my-server/");
    expect(table.get("alice", "work")?.authorization).toBe("token w");
  });
});

describe("header rewriting", () => {
  it("strips token query parameters however they are spelled", () => {
    expect(stripTokenParam("/x?token=abc")).toBe("/x");
    expect(stripTokenParam("/x?a=1&token=abc&b=2")).toBe("/x?a=1&b=2");
    expect(stripTokenParam("/x?%74oken=abc&b=2")).toBe("/x?b=2");
    expect(stripTokenParam("/x?tokens=1&mytoken=2")).toBe("/x?tokens=1&mytoken=2");
    expect(stripTokenParam("/x?token")).toBe("/x");
    expect(stripTokenParam("/x")).toBe("/x");
  });

  it("removes only the hub's cookies", () => {
    const filter = new CookieFilter(["hub-session", "hub-xsrf"]);
    expect(filter.strip("_xsrf=1; hub-session=s; other=2")).toBe("_xsrf=1; other=2");
    expect(filter.strip("hub-session=s;hub-xsrf=x")).toBeUndefined();
    expect(filter.strip("hub-session-like=1")).toBe("hub-session-like=1");
    const prefix = "/user/a/work/";
    expect(filter.setCookie("username-127-0-0-1-8888=x; Path=/", prefix)).toBeUndefined();
    expect(filter.setCookie("hub-session=evil; Path=/user/a/work/", prefix)).toBeUndefined();
    expect(filter.setCookie("_xsrf=2|a|b; expires=Tue, 22 Dec 2026 15:03:41 GMT; Path=/user/a/work/", prefix)).toBe(
      "_xsrf=2|a|b; expires=Tue, 22 Dec 2026 15:03:41 GMT; Path=/user/a/work/",
    );
    expect(filter.setCookie("s=1; Path=/user/a/work", prefix)).toBe("s=1; Path=/user/a/work");
    expect(filter.setCookie("s=1; HttpOnly", prefix)).toBe("s=1; HttpOnly");
    expect(filter.setCookie("wide=1; path=/; Domain=example.org; HttpOnly", prefix)).toBe(`wide=1; Path=${prefix}; HttpOnly`);
    expect(filter.setCookie("other=1; Path=/user/b/", prefix)).toBe(`other=1; Path=${prefix}`);
  });

  it("reads every value of a cookie", () => {
    expect(cookieValues('_xsrf=a; x=1; _xsrf="b"', "_xsrf")).toEqual(["a", '"b"']);
    expect(cookieValues(undefined, "_xsrf")).toEqual([]);
  });
});

describe("cross-site checks", () => {
  const allowed = (origin: string): boolean => origin === "https://hub.example.org";

  it("treats every method but GET/HEAD/OPTIONS as state-changing", () => {
    expect(["POST", "PUT", "PATCH", "DELETE", "PROPFIND"].every(isStateChanging)).toBe(true);
    expect(["GET", "HEAD", "OPTIONS"].some(isStateChanging)).toBe(false);
  });

  it("refuses foreign and null origins on any method", () => {
    expect(checkOrigin(fakeReq("GET", { origin: "https://evil.example" }), allowed, false)?.rule).toBe("origin");
    expect(checkOrigin(fakeReq("POST", { origin: "null" }), allowed, true)?.rule).toBe("origin");
    expect(checkOrigin(fakeReq("POST", { origin: "https://hub.example.org" }), allowed, true)).toBeUndefined();
  });

  it("falls back to Referer for writes only", () => {
    const foreign = { referer: "https://evil.example/page" };
    expect(checkOrigin(fakeReq("POST", foreign), allowed, true)?.rule).toBe("referer");
    expect(checkOrigin(fakeReq("GET", foreign), allowed, false)).toBeUndefined();
    expect(checkOrigin(fakeReq("POST", { referer: "https://hub.example.org/user/a/lab" }), allowed, true)).toBeUndefined();
    expect(checkOrigin(fakeReq("POST", { referer: "not a url" }), allowed, true)?.rule).toBe("referer");
    expect(checkOrigin(fakeReq("POST", {}), allowed, true)).toBeUndefined();
  });

  it("needs X-XSRFToken equal to an _xsrf cookie", () => {
    expect(checkXsrf(fakeReq("POST", { cookie: "_xsrf=abc" }))?.rule).toBe("xsrf");
    expect(checkXsrf(fakeReq("POST", { cookie: "_xsrf=abc", "x-xsrftoken": "abd" }))?.rule).toBe("xsrf");
    expect(checkXsrf(fakeReq("POST", { "x-xsrftoken": "" }))?.rule).toBe("xsrf");
    expect(checkXsrf(fakeReq("POST", { cookie: "_xsrf=", "x-xsrftoken": "" }))?.rule).toBe("xsrf");
    expect(checkXsrf(fakeReq("POST", { cookie: "_xsrf=abc", "x-xsrftoken": "abc" }))).toBeUndefined();
    expect(checkXsrf(fakeReq("POST", { cookie: "_xsrf=old; _xsrf=abc", "x-xsrftoken": "abc" }))).toBeUndefined();
  });
});

describe("dropServerToken", () => {
  const table = new RouteTable("/user/");
  const route = table.add({ user: "alice", serverName: "", target: "http://127.0.0.1:9001", token: "server-secret" });

  it("removes the server's own token, which names the server and not the caller", () => {
    const req = fakeReq("GET", { authorization: "token server-secret" });
    dropServerToken(req, route);
    expect(req.headers.authorization).toBeUndefined();
    const bearer = fakeReq("GET", { authorization: "Bearer server-secret" });
    dropServerToken(bearer, route);
    expect(bearer.headers.authorization).toBeUndefined();
  });

  it("keeps any other credential for the hub to judge", () => {
    const req = fakeReq("GET", { authorization: "token someone-elses" });
    dropServerToken(req, route);
    expect(req.headers.authorization).toBe("token someone-elses");
    const noRoute = fakeReq("GET", { authorization: "token server-secret" });
    dropServerToken(noRoute, undefined);
    expect(noRoute.headers.authorization).toBe("token server-secret");
  });
});
