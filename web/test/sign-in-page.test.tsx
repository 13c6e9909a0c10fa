import { describe, expect, it, vi } from "vitest";
import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { SignInPage } from "../src/features/auth";
import { jsonFetch, renderWithProviders } from "./render";

const options = {
  password: { backend: "ldap" },
  providers: [{ name: "keycloak", label: "Sign in with Keycloak", login_url: "/hub/oauth_login/keycloak" }],
};

describe("the sign-in page", () => {
  it("offers each provider, keeping where to go next", async () => {
    history.replaceState(null, "", "/hub/login?next=%2Fuser%2Falice%2Flab");
    vi.stubGlobal("fetch", jsonFetch({ "/hub/login/options": { body: options } }).fetch);
    renderWithProviders(<SignInPage />, "/hub/login");
    const button = await screen.findByRole("link", { name: "Sign in with Keycloak" });
    expect(button.getAttribute("href")).toBe("/hub/oauth_login/keycloak?next=%2Fuser%2Falice%2Flab");
    expect(screen.getByText(/alice@domain/)).toBeTruthy();
  });

  it("shows a refusal left by the hub once, and the hub's words for a refused password", async () => {
    history.replaceState(null, "", "/hub/login");
    document.cookie = "ganymede-login-error=bob%20may%20not%20sign%20in%3A%20not%20a%20member%20of%20an%20allowed%20group%20(staff); path=/hub/login";
    document.cookie = "ganymede-login-xsrf=abc; path=/hub/login";
    const hub = jsonFetch({
      "/hub/login/options": { body: options },
      "/hub/login": { status: 403, body: { status: 403, error: "forbidden", message: "Invalid username or password." } },
    });
    vi.stubGlobal("fetch", hub.fetch);
    renderWithProviders(<SignInPage />, "/hub/login");
    expect(screen.getByRole("alert").textContent).toBe("bob may not sign in: not a member of an allowed group (staff)");
    expect(document.cookie).not.toContain("ganymede-login-error");
    await userEvent.type(screen.getByLabelText("Username"), "alice");
    await userEvent.type(screen.getByLabelText("Password"), "wrong");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect((await screen.findByText("Invalid username or password.")).getAttribute("role")).toBe("alert");
    const post = hub.calls.find((c) => c.init?.method === "POST")!;
    expect(JSON.parse(String(post.init!.body))).toEqual({ username: "alice", password: "wrong", next: "/hub/home", _xsrf: "abc" });
  });
});
