import { afterEach, describe, expect, it, vi } from "vitest";
import { screen } from "@testing-library/react";
import { ServerIsolation } from "../src/features/admin/components/server-isolation";
import { jsonFetch, renderWithProviders } from "./render";

const info = (isolation: { separated: boolean; summary: string; warnings: string[] }) => ({
  "/hub/api/info": { body: { version: "5.0.0", ganymede: "0.1.0", spawner: { class: "ganymede.local", version: "0.1.0", isolation } } },
});

describe("server isolation on the admin page", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("alerts when users' servers are not kept apart, with what to do", async () => {
    const warning = "the hub runs as uid 1000, not root: … Run the hub as root for one uid per user.";
    vi.stubGlobal("fetch", jsonFetch(info({ separated: false, summary: "Every server runs as the hub's own uid 1000.", warnings: [warning] })).fetch);
    renderWithProviders(<ServerIsolation />);
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("Users' servers are not kept apart:");
    expect(alert.textContent).toContain(warning);
    expect(screen.getByText("Every server runs as the hub's own uid 1000.")).toBeTruthy();
  });

  it("states the isolation without alarm when nothing is weak", async () => {
    vi.stubGlobal("fetch", jsonFetch(info({ separated: true, summary: "Each user's servers run as that user's own unprivileged uid.", warnings: [] })).fetch);
    renderWithProviders(<ServerIsolation />);
    expect(await screen.findByText("Each user's servers run as that user's own unprivileged uid.")).toBeTruthy();
    expect(screen.queryByRole("alert")).toBeNull();
  });
});
