import { describe, expect, it, vi } from "vitest";
import { api, ApiError, errorMessage } from "../src/lib/api-client";
import { jsonFetch } from "./render";

describe("the API client", () => {
  it("sends the XSRF cookie's value on writes only", async () => {
    document.cookie = "ganymede-xsrf=tok%3D1";
    const { fetch, calls } = jsonFetch({ "/hub/api/": { body: {} } });
    vi.stubGlobal("fetch", fetch);
    await api("/user");
    await api("/users/alice/server", { method: "POST", body: {} });
    const headers = (i: number) => calls[i]!.init!.headers as Record<string, string>;
    expect(headers(0)["X-XSRFToken"]).toBeUndefined();
    expect(headers(1)["X-XSRFToken"]).toBe("tok=1");
    expect(headers(1)["Content-Type"]).toBe("application/json");
  });

  it("turns a policy refusal into the hub's sentences, each reason once", async () => {
    const body = {
      status: 403,
      error: "policy_denied",
      message: "alice already has 5 named servers; policy default allows 5.",
      detail: { reasons: [{ rule: "namedServers", policy: "default", message: "alice already has 5 named servers; policy default allows 5." }] },
    };
    vi.stubGlobal("fetch", jsonFetch({ "/hub/api/": { status: 403, body } }).fetch);
    const error = await api("/users/alice/servers/six", { method: "POST" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).kind).toBe("policy_denied");
    expect(errorMessage(error)).toBe("alice already has 5 named servers; policy default allows 5.");
  });

  it("words failures that are not the hub's own", async () => {
    vi.stubGlobal("fetch", jsonFetch({ "/hub/api/": { status: 502, body: undefined } }).fetch);
    expect(errorMessage(await api("/user").catch((e: unknown) => e))).toBe("The hub answered 502.");
    expect(errorMessage(new TypeError("Failed to fetch"))).toMatch(/could not be reached/);
  });
});
