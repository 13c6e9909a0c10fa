/**
 * server/openapi.yaml against the code: the document is well-formed OpenAPI 3.1, every $ref resolves, and the
 * routes, models and error kinds it describes are exactly those the hub serves. No hub, database or network needed.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { apiRouter } from "../src/api/index.js";
import { OPENAPI_FILE, openApiDocument } from "../src/api/openapi.js";
import { serverModel, tokenModel, userModel } from "../src/api/presenters.js";
import { infoRouter, versionHandler } from "../src/api/root.js";
import { PolicyDenied, SpawnError } from "../src/errors.js";
import { errorBody } from "../src/http/error-handler.js";
import { pagesRouter } from "../src/http/pages.js";
import { PolicyEngine } from "../src/policy/index.js";
import type { HubContext } from "../src/hub/context.js";
import { configSchema } from "../src/config/schema.js";
import type { ServerView } from "../src/servers/types.js";
import { GANYMEDE_VERSION, JUPYTERHUB_API_VERSION } from "../src/version.js";

type Json = Record<string, unknown>;

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;
/** Hub pages that are HTML for browsers, deliberately not in the API document. */
const HTML_PAGES = new Set(["GET /login", "POST /login", "GET /logout"]);
/** The server URL of path items that live under /hub rather than /hub/api. */
const PAGES_SERVER = "/hub";

const doc = parse(readFileSync(OPENAPI_FILE, "utf8")) as Json;
const paths = doc.paths as Record<string, Json>;
const components = doc.components as Record<string, Record<string, Json>>;

// ------------------------------------------------------------------------------------------------ helpers

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Resolves a local JSON pointer ("#/components/schemas/User"); undefined when it points nowhere. */
function resolvePointer(ref: string): unknown {
  if (!ref.startsWith("#/")) return undefined;
  let node: unknown = doc;
  for (const raw of ref.slice(2).split("/")) {
    const key = decodeURIComponent(raw).replaceAll("~1", "/").replaceAll("~0", "~");
    if (Array.isArray(node)) node = node[Number(key)];
    else if (isObject(node) && Object.hasOwn(node, key)) node = node[key];
    else return undefined;
  }
  return node;
}

/** Every `$ref` in the document, with where it was found. */
function allRefs(node: unknown, at = "#", out: { ref: unknown; at: string }[] = []) {
  if (Array.isArray(node)) node.forEach((v, i) => allRefs(v, `${at}/${i}`, out));
  else if (isObject(node)) {
    for (const [k, v] of Object.entries(node)) {
      if (k === "$ref") out.push({ ref: v, at });
      else allRefs(v, `${at}/${k}`, out);
    }
  }
  return out;
}

const deref = <T>(node: unknown): T => {
  let n = node;
  for (let i = 0; isObject(n) && typeof n.$ref === "string" && i < 10; i++) n = resolvePointer(n.$ref);
  return n as T;
};

interface Operation {
  method: string;
  path: string;
  op: Json;
  item: Json;
}

function operations(): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (isObject(op)) out.push({ method, path, op, item });
    }
  }
  return out;
}

/** "api" or "pages", from the path item's own `servers` (the document's default is /hub/api). */
function surfaceOf(item: Json): "api" | "pages" {
  const servers = item.servers as { url: string }[] | undefined;
  if (!servers) return "api";
  expect(servers.map((s) => s.url)).toEqual([PAGES_SERVER]);
  return "pages";
}

// ------------------------------------------------------------------------------------------------ the code's routes

/** A stand-in context: route registration only captures it, so any property access just yields another stand-in. */
function standIn(): unknown {
  const fn = function standInFn() {};
  return new Proxy(fn, {
    get: (_t, prop) => (prop === "then" ? undefined : prop === Symbol.toPrimitive ? () => "stand-in" : standIn()),
    apply: () => standIn(),
  });
}

interface Layer {
  route?: {
    path: string | string[];
    methods: Record<string, boolean>;
    dispatch(req: unknown, res: unknown, done: (err?: unknown) => void): void;
  };
  handle: unknown;
  slash?: boolean;
  rawPath?: unknown;
}

/** Walks an Express 5 router: its routes, and those of routers mounted on it without a path. */
function routesOf(router: unknown): Set<string> {
  const out = new Set<string>();
  const walk = (r: unknown) => {
    const stack = (r as { stack?: Layer[] }).stack;
    if (!Array.isArray(stack)) throw new Error("not an Express router (no stack)");
    for (const layer of stack) {
      if (layer.route) {
        const list = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const path of list) {
          for (const [method, on] of Object.entries(layer.route.methods)) {
            if (on && method !== "_all") out.add(`${method.toUpperCase()} ${path}`);
          }
        }
      } else if (typeof layer.handle === "function" && Array.isArray((layer.handle as { stack?: unknown }).stack)) {
        // A nested router: only path-less mounts are expected (a mount path would have to prefix its routes).
        if (!(layer.slash === true || layer.rawPath === "/")) throw new Error(`nested router mounted at ${String(layer.rawPath)}`);
        walk(layer.handle);
      }
    }
  };
  walk(router);
  return out;
}

/** Runs the handlers of one route of `router` (stand-in context, fake request) and returns what it sent with res.json(). */
async function jsonFrom(router: unknown, method: string, path: string, req: Json = {}): Promise<Json> {
  const layer = (router as { stack: Layer[] }).stack.find((l) => l.route?.path === path && l.route.methods[method]);
  if (!layer?.route) throw new Error(`no route ${method.toUpperCase()} ${path}`);
  const route = layer.route;
  return new Promise<Json>((resolve, reject) => {
    const res = { json: (body: Json) => resolve(body), status: () => res };
    route.dispatch({ method: method.toUpperCase(), ...req }, res, (err) => reject(err ?? new Error("route did not answer")));
  });
}

/** The same routes read from the source (`router.<method>("<path>"` / `router.<method>(["a", "b"]`), as a cross-check. */
function routesInSource(files: string[]): Set<string> {
  const out = new Set<string>();
  const call = /\brouter\.(get|post|put|patch|delete)\(\s*(\[[^\]]*\]|"[^"]*")/g;
  for (const file of files) {
    const text = readFileSync(new URL(file, import.meta.url), "utf8");
    for (const m of text.matchAll(call)) {
      for (const p of m[2]!.matchAll(/"([^"]*)"/g)) out.add(`${m[1]!.toUpperCase()} ${p[1]}`);
    }
  }
  return out;
}

/** Express "/users/:name/servers/:server" → OpenAPI "/users/{name}/servers/{server}". */
function toTemplate(route: string): string {
  const [method, path] = route.split(" ") as [string, string];
  expect(path, `route ${route} uses Express path syntax this test does not translate`).toMatch(/^[A-Za-z0-9_\-./:]*$/);
  return `${method} ${path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, "{$1}")}`;
}

// Routers read only the (real, default) config while registering routes; everything else is a stand-in.
const config = configSchema.parse({});
const ctx = new Proxy({}, { get: (_t, prop) => (prop === "config" ? config : (standIn() as Record<PropertyKey, unknown>)[prop]) }) as HubContext;
const apiRoutes = routesOf(apiRouter(ctx));
const pageRoutes = routesOf(pagesRouter(ctx));

function documented(surface: "api" | "pages"): Set<string> {
  return new Set(
    operations()
      .filter((o) => surfaceOf(o.item) === surface)
      .map((o) => `${o.method.toUpperCase()} ${o.path}`),
  );
}

// ------------------------------------------------------------------------------------------------ tests

describe("openapi.yaml", () => {
  it("is an OpenAPI 3.1 document", () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    const info = doc.info as Json;
    expect(typeof info.title).toBe("string");
    expect(typeof info.version).toBe("string");
    expect(isObject(doc.paths)).toBe(true);
    expect(isObject(doc.components)).toBe(true);
    expect((doc.servers as { url: string }[])[0]?.url).toBe("/hub/api");
    for (const path of Object.keys(paths)) expect(path.startsWith("/"), path).toBe(true);
    // Served as JSON: nothing YAML-only (dates, undefined) may be in it.
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
  });

  it("is what openApiDocument() serves, parsed once", () => {
    const served = openApiDocument();
    expect(served).toEqual(doc);
    expect(openApiDocument()).toBe(served);
  });

  it("resolves every $ref, all of them local", () => {
    const refs = allRefs(doc);
    expect(refs.length).toBeGreaterThan(50);
    const broken = refs.filter(({ ref }) => typeof ref !== "string" || resolvePointer(ref) === undefined);
    expect(broken).toEqual([]);
  });

  it("uses every component it defines", () => {
    const used = new Set(allRefs(doc).map((r) => r.ref));
    const unused: string[] = [];
    for (const kind of ["schemas", "parameters", "responses", "requestBodies"] as const) {
      for (const name of Object.keys(components[kind] ?? {})) {
        if (!used.has(`#/components/${kind}/${name}`)) unused.push(`${kind}/${name}`);
      }
    }
    expect(unused).toEqual([]);
  });

  it("gives every operation a unique id, a known tag and a success response", () => {
    const tags = new Set((doc.tags as { name: string }[]).map((t) => t.name));
    const ids = new Set<string>();
    for (const { method, path, op } of operations()) {
      const where = `${method.toUpperCase()} ${path}`;
      expect(typeof op.operationId, where).toBe("string");
      expect(ids.has(op.operationId as string), `duplicate operationId ${String(op.operationId)}`).toBe(false);
      ids.add(op.operationId as string);
      for (const tag of (op.tags as string[] | undefined) ?? []) expect(tags.has(tag), `${where}: tag ${tag}`).toBe(true);
      const codes = Object.keys(op.responses as Json);
      expect(codes.some((c) => /^2\d\d$/.test(c)), `${where} has no 2xx response`).toBe(true);
      for (const c of codes) expect(c, where).toMatch(/^[1-5]\d\d$/);
    }
  });

  it("declares exactly the path parameters of each template, as required", () => {
    for (const { method, path, op, item } of operations()) {
      const inTemplate = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      const params = [...((item.parameters as unknown[]) ?? []), ...((op.parameters as unknown[]) ?? [])].map((p) =>
        deref<{ name: string; in: string; required?: boolean }>(p),
      );
      const pathParams = params.filter((p) => p.in === "path");
      expect(pathParams.map((p) => p.name).sort(), `${method.toUpperCase()} ${path}`).toEqual(inTemplate);
      for (const p of pathParams) expect(p.required, `${path}: ${p.name} must be required`).toBe(true);
    }
  });

  it("names only defined security schemes, and asks for the XSRF header on cookie-authenticated writes", () => {
    const schemes = components.securitySchemes!;
    const requirements = (op: Json) => (op.security ?? doc.security) as Record<string, unknown>[];
    for (const r of doc.security as Record<string, unknown>[]) for (const name of Object.keys(r)) expect(schemes[name]).toBeDefined();
    for (const { method, path, op } of operations()) {
      for (const requirement of requirements(op)) {
        for (const name of Object.keys(requirement)) expect(schemes[name], `${path}: ${name}`).toBeDefined();
        const write = !["get", "head", "options"].includes(method);
        if (write && "session" in requirement) {
          expect(Object.keys(requirement).sort(), `${method.toUpperCase()} ${path}`).toEqual(["session", "xsrf"]);
        }
      }
    }
  });
});

describe("openapi.yaml matches the routers", () => {
  it("finds the routes by walking the routers, the same ones the source declares", () => {
    expect(apiRoutes.size).toBeGreaterThan(15);
    expect(apiRoutes).toEqual(
      routesInSource([
        "../src/api/index.ts",
        "../src/api/root.ts",
        "../src/api/users.ts",
        "../src/api/servers.ts",
        "../src/api/shares.ts",
        "../src/api/tokens.ts",
        "../src/api/activity.ts",
        "../src/api/policies.ts",
        "../src/api/audit.ts",
        "../src/api/binder.ts",
      ]),
    );
    expect(pageRoutes).toEqual(routesInSource(["../src/http/pages.ts"]));
  });

  it("documents every route of /hub/api, and nothing else there", () => {
    const code = new Set([...apiRoutes].map(toTemplate));
    const docs = documented("api");
    expect([...code].filter((r) => !docs.has(r)), "routes missing from openapi.yaml").toEqual([]);
    expect([...docs].filter((r) => !code.has(r)), "documented routes the code does not serve").toEqual([]);
  });

  it("documents the hub's non-HTML endpoints (/hub/health, /hub/login/options, /hub/metrics), and nothing else under /hub", () => {
    const code = new Set([...pageRoutes].filter((r) => !HTML_PAGES.has(r)).map(toTemplate));
    const docs = documented("pages");
    expect(code).toEqual(new Set(["GET /health", "GET /login/options", "GET /metrics"]));
    expect(docs).toEqual(code);
    for (const page of HTML_PAGES) expect(pageRoutes.has(page), `${page} is no longer served; update HTML_PAGES`).toBe(true);
  });
});

describe("openapi.yaml matches the models", () => {
  const schema = (name: string) => deref<{ properties: Json; required?: string[] }>(components.schemas![name]);
  const keysOf = (name: string) => Object.keys(schema(name).properties).sort();

  const view: ServerView = {
    name: "analysis",
    status: "running",
    pending: null,
    ready: true,
    stopped: false,
    url: "/user/alice/analysis/",
    progressUrl: "/hub/api/users/alice/servers/analysis/progress",
    started: new Date(),
    lastActivity: null,
    userOptions: {},
    lastError: null,
    limits: { cpu: 1, memoryBytes: 2e9, storageBytes: 2 * 1024 ** 3, namedServers: 5, serverNameMaxLength: 20, idleTimeoutMs: null, concurrentBuilds: 2, buildTimeoutMs: 1_800_000, maxLifetimeMs: 12 * 3_600_000, lifetimeExtensionMs: 3_600_000, runningServers: 3, totalCpu: 2, totalMemoryBytes: 8e9, totalStorageBytes: null, shares: 2 },
    enforcement: null,
    stopQueuePosition: null,
    lifetime: { deadline: new Date(), latest: new Date() },
    stoppedAt: null,
    stopReason: null,
    state: { pid: 1 },
  };

  it("info.version is Ganymede's version", () => {
    expect((doc.info as Json).version).toBe(GANYMEDE_VERSION);
    expect((schema("Version").properties.version as { examples: string[] }).examples).toEqual([JUPYTERHUB_API_VERSION]);
  });

  it("Version, HubInfo and Health have the fields their handlers send", async () => {
    let sent: Json = {};
    versionHandler({} as never, { json: (b: Json) => (sent = b) } as never, () => undefined);
    expect(Object.keys(sent).sort()).toEqual(keysOf("Version"));
    const info = await jsonFrom(infoRouter(ctx), "get", "/info", { principal: { name: "root", admin: true } });
    expect(Object.keys(info).sort()).toEqual(keysOf("HubInfo"));
    const health = await jsonFrom(pagesRouter(ctx), "get", "/health");
    expect(Object.keys(health).sort()).toEqual(keysOf("Health"));
  });

  it("PolicyStatus has the fields of the policy engine's status()", async () => {
    const engine = new PolicyEngine("/nonexistent/ganymede-policies");
    expect(Object.keys(engine.status()).sort()).toEqual(schema("PolicyStatus").required!.slice().sort());
    await engine.reload().catch(() => undefined); // fails: the directory does not exist
    expect(Object.keys(engine.status()).sort()).toEqual(keysOf("PolicyStatus"));
    expect(Object.keys(engine.status().lastError ?? {}).sort()).toEqual(
      Object.keys((schema("PolicyStatus").properties.lastError as { properties: Json }).properties).sort(),
    );
  });

  it("Server has the fields serverModel() produces", () => {
    const model = serverModel("alice", view);
    expect(Object.keys(model).sort()).toEqual(keysOf("Server"));
    for (const key of schema("Server").required ?? []) expect(model).toHaveProperty(key);
    expect(Object.keys(model.limits as Json).sort()).toEqual(keysOf("Limits"));
    // `state` is the only optional field (administrators, and only when there is some).
    expect(Object.keys(serverModel("alice", { ...view, state: null })).sort()).toEqual(schema("Server").required!.slice().sort());
  });

  it("User has the fields userModel() produces", () => {
    const server = serverModel("alice", { ...view, name: "" });
    const model = userModel(
      {
        name: "alice",
        admin: false,
        createdAt: new Date(),
        lastActivity: null,
        groups: [],
        namedServerLimit: 5,
        quotas: {
          runningServers: { used: 1, limit: 3 },
          cpu: { used: 1, limit: 2 },
          memoryBytes: { used: 2e9, limit: null },
          storageBytes: { used: 2 ** 31, limit: null },
        },
      },
      [server],
      server,
    );
    expect(Object.keys(model).sort()).toEqual(keysOf("User"));
    expect(Object.keys(model).sort()).toEqual(schema("User").required!.slice().sort());
  });

  it("Token has the fields tokenModel() produces", () => {
    const model = tokenModel(
      { id: 7, note: "n", scopes: '["inherit"]', createdAt: new Date(), expiresAt: null, lastActivity: null, prefix: "abcd" },
      { name: "alice", admin: false },
    );
    expect(Object.keys(model).sort()).toEqual(keysOf("Token"));
    expect(model.id).toMatch(new RegExp((schema("Token").properties.id as { pattern: string }).pattern));
  });

  it("Error lists every error kind the hub can answer with, and errorBody()'s fields", () => {
    const errors = readFileSync(new URL("../src/errors.ts", import.meta.url), "utf8");
    const handler = readFileSync(new URL("../src/http/error-handler.ts", import.meta.url), "utf8");
    const kinds = new Set([
      ...[...errors.matchAll(/readonly code = "([a-z_]+)"/g)].map((m) => m[1]),
      ...[...handler.matchAll(/error: "([a-z_]+)"/g)].map((m) => m[1]),
    ]);
    const error = schema("Error");
    expect(new Set((error.properties.error as { enum: string[] }).enum)).toEqual(kinds);

    const denied = errorBody(new PolicyDenied([{ rule: "total_cpu", policy: "default", message: "m", limit: 2, value: 3, used: 2, requested: 1 }]));
    for (const key of Object.keys(denied)) expect(error.properties).toHaveProperty(key);
    const reasons = (denied.detail as { reasons: Json[] }).reasons;
    expect(Object.keys(reasons[0]!).sort()).toEqual(keysOf("PolicyReason"));
    expect(Object.keys(denied.detail as Json)).toEqual(keysOf("PolicyDeniedDetail"));

    const failed = errorBody(new SpawnError("timeout", "too slow"));
    expect(Object.keys(failed.detail as Json)).toEqual(keysOf("SpawnFailedDetail"));
    const reasonUnion = /readonly reason: ((?:"[a-z]+"\s*\|?\s*)+)/.exec(errors)?.[1] ?? "";
    const reasonsInCode = [...reasonUnion.matchAll(/"([a-z]+)"/g)].map((m) => m[1]).sort();
    expect(reasonsInCode.length).toBeGreaterThan(0);
    expect((schema("SpawnFailedDetail").properties.reason as { enum: string[] }).enum.slice().sort()).toEqual(reasonsInCode);
  });
});
