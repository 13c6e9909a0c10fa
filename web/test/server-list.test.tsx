import { describe, expect, it, vi } from "vitest";
import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { ServerList } from "../src/features/servers";
import { renderWithProviders, jsonFetch } from "./render";
import { server, user } from "./fixtures";

describe("the server list", () => {
  it("counts named servers against the policy's limit and offers to start a default server that does not exist yet", () => {
    renderWithProviders(<ServerList user={user([server({ name: "a" }), server({ name: "b" })], { named_server_limit: 3 })} />);
    expect(screen.getByTestId("named-count").textContent).toBe("2 of 3 named servers used");
    expect(screen.getByRole("heading", { name: "Default server" })).toBeTruthy();
    expect(screen.getByRole("button", { name: "Start Default server" })).toBeTruthy();
  });

  it("says when the limit is reached, and shows a failed last start", () => {
    const servers = ["a", "b"].map((name) => server({ name, last_error: name === "a" ? "Jupyter exited with code 1" : null }));
    renderWithProviders(<ServerList user={user(servers, { named_server_limit: 2 })} />);
    expect(screen.getByTestId("at-limit").textContent).toMatch(/2 of 2 named servers/);
    expect(screen.getByText("Failed")).toBeTruthy();
    expect(screen.getByText("Last start failed: Jupyter exited with code 1")).toBeTruthy();
  });

  it("shows a stop waiting in line, and a failed stop's reason as the hub wrote it", () => {
    const servers = [
      server({ name: "a", status: "stopping", stopped: false, pending: "stop", stop_queue_position: 3 }),
      server({ name: "b", status: "running", stopped: false, ready: true, last_error: "Stop failed: processes did not exit. alice/b is still running; stop it again." }),
    ];
    renderWithProviders(<ServerList user={user(servers)} />);
    expect(screen.getByText("Stopping (3 in line)")).toBeTruthy();
    expect(screen.getByText("Stop failed: processes did not exit. alice/b is still running; stop it again.")).toBeTruthy();
    expect(screen.queryByText(/Last start failed/)).toBeNull();
  });

  it("shows the quotas the policy sets, drawn against their limits, and none it leaves unlimited", () => {
    const quotas = {
      running_servers: { used: 1, limit: 3 },
      cpu: { used: 1, limit: 2 },
      memory_bytes: { used: 2e9, limit: null },
      storage_bytes: { used: 3 * 2 ** 30, limit: 10 * 2 ** 30 },
    };
    renderWithProviders(<ServerList user={user([server({ name: "a" })], { quotas })} />);
    expect(screen.getByRole("heading", { name: "Your quota" })).toBeTruthy();
    expect(screen.getByTestId("quota-servers-running").textContent).toBe("1 of 3");
    expect(screen.getByTestId("quota-cpu").textContent).toBe("1 of 2 in use");
    expect(screen.getByTestId("quota-storage").textContent).toBe("3.0 GiB of 10 GiB held by your servers");
    expect(screen.queryByTestId("quota-memory")).toBeNull();
  });

  it("shows no quota section when the policy sets none", () => {
    renderWithProviders(<ServerList user={user([server({ name: "a" })])} />);
    expect(screen.queryByRole("heading", { name: "Your quota" })).toBeNull();
  });

  it("draws storage used against the limit", () => {
    renderWithProviders(<ServerList user={user([server({ name: "a" })])} />);
    const meter = document.querySelector("meter")!;
    expect(Number(meter.getAttribute("value"))).toBe(512 * 1024 ** 2);
    expect(screen.getByText(/512 MiB of 2 GiB/)).toBeTruthy();
  });

  it("goes to the spawn page once the hub accepts a start, and shows a refusal in place", async () => {
    const hub = jsonFetch({
      "/hub/api/users/alice/servers/a": { status: 201, body: undefined },
      "/hub/api/users/alice/servers/b": { status: 403, body: { status: 403, error: "policy_denied", message: "alice may run 1 server at a time." } },
    });
    vi.stubGlobal("fetch", hub.fetch);
    const { navigations } = renderWithProviders(<ServerList user={user([server({ name: "a" }), server({ name: "b" })])} />);
    await userEvent.click(screen.getByRole("button", { name: "Start a" }));
    await waitFor(() => expect(navigations).toEqual(["/hub/spawn-pending/alice/a"]));
    await userEvent.click(screen.getByRole("button", { name: "Start b" }));
    expect((await screen.findByRole("alert")).textContent).toBe("alice may run 1 server at a time.");
    expect(navigations).toHaveLength(1);
  });

  it("asks before deleting, saying the work will be deleted", async () => {
    renderWithProviders(<ServerList user={user([server({ name: "a" })])} />);
    // jsdom has no modal dialogs; the component only needs showModal/close to exist.
    HTMLDialogElement.prototype.showModal ??= function (this: HTMLDialogElement) {
      this.open = true;
    };
    HTMLDialogElement.prototype.close ??= function (this: HTMLDialogElement) {
      this.open = false;
    };
    await userEvent.click(screen.getByRole("button", { name: "Delete a" }));
    expect(screen.getByText(/all the work saved in it will be deleted/)).toBeTruthy();
  });
});
