import { describe, expect, it, vi } from "vitest";
import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { BinderForm, BinderSection } from "../src/features/binder";
import { EMPTY_BUILD, foldBuild } from "../src/features/binder/api/use-build-stream";
import { landingUrl, targetFromSearch } from "../src/features/binder/landing";
import { matchRoute } from "../src/lib/router";
import { jsonFetch, renderWithProviders } from "./render";

describe("launch links", () => {
  it("route /v2/<provider>/<spec> to the launch page, keeping the spec's own escaping", () => {
    expect(matchRoute("/v2/gh/owner/repo/main")).toEqual({ page: "launch", spec: "gh/owner/repo/main" });
    expect(matchRoute("/v2/git/https%3A%2F%2Fexample.org%2Frepo.git/HEAD")).toEqual({
      page: "launch",
      spec: "git/https%3A%2F%2Fexample.org%2Frepo.git/HEAD",
    });
  });

  it("land where BinderHub's urlpath, labpath and filepath say", () => {
    expect(landingUrl("/user/alice/binder-repo/", targetFromSearch(""))).toBe("/user/alice/binder-repo/");
    expect(landingUrl("/user/alice/r/", targetFromSearch("?urlpath=%2Fvoila%2Frender%2Fa.ipynb"))).toBe("/user/alice/r/voila/render/a.ipynb");
    expect(landingUrl("/user/alice/r/", targetFromSearch("?labpath=notebooks/intro%20one.ipynb"))).toBe(
      "/user/alice/r/lab/tree/notebooks/intro%20one.ipynb",
    );
    expect(landingUrl("/user/alice/r", targetFromSearch("?filepath=a.ipynb"))).toBe("/user/alice/r/lab/tree/a.ipynb");
  });
});

describe("the build stream", () => {
  it("keeps the log line by line, the furthest phase, the URL and the reason of a failure", () => {
    let s = foldBuild(EMPTY_BUILD, { phase: "fetching", message: "Resolving main\n" });
    s = foldBuild(s, { phase: "building", message: "Step 1/9 : FROM base\nStep 2/9 : RUN pip install\n" });
    expect(s.log).toEqual(["Resolving main", "Step 1/9 : FROM base", "Step 2/9 : RUN pip install"]);
    expect(s.furthest).toBe(2);
    s = foldBuild(s, { phase: "failed", message: "postBuild failed: exit code 1" });
    expect(s).toMatchObject({ phase: "failed", furthest: 2, reason: "postBuild failed: exit code 1" });
    const ready = foldBuild(EMPTY_BUILD, { phase: "ready", url: "/user/alice/r/" });
    expect(ready.url).toBe("/user/alice/r/");
  });
});

describe("the Binder form", () => {
  it("shows the hub's launch link and badge, then launches", async () => {
    const link = {
      spec: "gh/owner/repo/main",
      launch_path: "/v2/gh/owner/repo/main?labpath=index.ipynb",
      launch_url: "http://hub.example/v2/gh/owner/repo/main?labpath=index.ipynb",
      badge_markdown: "[![Binder](http://hub.example/badge_logo.svg)](http://hub.example/v2/gh/owner/repo/main?labpath=index.ipynb)",
    };
    const hub = jsonFetch({ "/hub/api/binder/launch-link": { body: link } });
    vi.stubGlobal("fetch", hub.fetch);
    const { navigations } = renderWithProviders(<BinderForm />);
    expect((screen.getByRole("button", { name: "Launch" }) as HTMLButtonElement).disabled).toBe(true);
    await userEvent.type(screen.getByLabelText("Git repository URL"), "https://github.com/owner/repo");
    await userEvent.type(screen.getByLabelText("Branch, tag or commit"), "main");
    await userEvent.type(screen.getByLabelText("File or URL path to open"), "index.ipynb");
    await waitFor(() => expect(screen.getByTestId("share").textContent).toContain(link.launch_url));
    expect(screen.getByTestId("share").textContent).toContain(link.badge_markdown);
    const asked = new URL(hub.calls.at(-1)!.url, "http://x");
    expect(Object.fromEntries(asked.searchParams)).toEqual({ repo: "https://github.com/owner/repo", ref: "main", path: "index.ipynb" });
    await userEvent.click(screen.getByRole("button", { name: "Launch" }));
    expect(navigations).toEqual([link.launch_path]);
  });

  it("shows the hub's refusal of a repository", async () => {
    const refusal = { status: 400, error: "invalid_input", message: "Repository URLs must use https; got ssh://git@example.org/repo" };
    vi.stubGlobal("fetch", jsonFetch({ "/hub/api/binder/launch-link": { status: 400, body: refusal } }).fetch);
    renderWithProviders(<BinderForm />);
    await userEvent.type(screen.getByLabelText("Git repository URL"), "ssh://git@example.org/repo");
    expect((await screen.findByRole("alert")).textContent).toBe(refusal.message);
    expect((screen.getByRole("button", { name: "Launch" }) as HTMLButtonElement).disabled).toBe(true);
  });
});

describe("the Binder section of Home", () => {
  it("says so when the hub does not launch repositories, and shows the form when it does", async () => {
    vi.stubGlobal("fetch", jsonFetch({ "/hub/api/binder": { body: { enabled: false } } }).fetch);
    const off = renderWithProviders(<BinderSection />);
    const notice = (await screen.findByText(/does not launch git repositories/)).textContent;
    expect(notice).toContain("scripts/start.sh --binder");
    expect(notice).toContain("builder.enabled");
    off.unmount();
    vi.stubGlobal("fetch", jsonFetch({ "/hub/api/binder": { body: { enabled: true } } }).fetch);
    renderWithProviders(<BinderSection />);
    await screen.findByLabelText("Git repository URL");
  });
});

