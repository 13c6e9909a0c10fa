import { afterEach, describe, expect, it, vi } from "vitest";
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { AuditTrail } from "../src/features/admin/components/audit-trail";
import { jsonFetch, renderWithProviders } from "./render";

const event = (id: number, fields: Record<string, unknown>) => ({
  id,
  at: "2026-12-07T10:00:00.000Z",
  actor: "alice",
  actorKind: "user",
  action: "server.start",
  user: "alice",
  server: "lab",
  outcome: "ok",
  status: 201,
  detail: null,
  address: "10.0.0.7",
  ...fields,
});

describe("the audit trail on the admin page", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("shows who did what, the refusal's reason, filters, pages back, and exports what is filtered", async () => {
    const refused = event(2, {
      action: "server.start",
      server: "a-name-too-long",
      outcome: "refused",
      status: 400,
      detail: { error: "policy_denied", message: "server name is 25 characters; policy `default` allows at most 20" },
    });
    const reload = event(1, { actor: "hub", actorKind: "hub", action: "policy.reload", user: null, server: null, status: null, address: null, detail: { added: ["staff"], removed: [], changed: ["default"] } });
    const older = event(0, { actor: "admin", actorKind: "admin", action: "user.create", user: "bob", server: null, status: 201 });
    const { fetch, calls } = jsonFetch({
      "/hub/api/audit?limit=50&before=1": { body: { events: [older] } },
      "/hub/api/audit?limit=50&user=alice": { body: { events: [refused] } },
      "/hub/api/audit?limit=50": { body: { events: [refused, reload], next: 1 } },
    });
    vi.stubGlobal("fetch", fetch);
    renderWithProviders(<AuditTrail />);

    const table = await screen.findByRole("table", { name: "Audit trail" });
    const rows = within(table).getAllByRole("row").slice(1).map((r) => r.textContent);
    expect(rows[0]).toContain("alice 10.0.0.7server.startalice/a-name-too-longrefused (400)server name is 25 characters; policy `default` allows at most 20");
    expect(rows[1]).toContain("policy.reload—okadded: staff; changed: default");

    fireEvent.click(screen.getByRole("button", { name: "Older" }));
    expect(await screen.findByText("bob")).toBeTruthy();
    expect(screen.getByText("admin (admin)")).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Newer" }));
    await screen.findByText("policy.reload");

    fireEvent.change(screen.getByLabelText("User"), { target: { value: "alice" } });
    fireEvent.click(screen.getByRole("button", { name: "Filter" }));
    await waitFor(() => expect(calls.some((c) => c.url === "/hub/api/audit?limit=50&user=alice")).toBe(true));
    await waitFor(() => expect(screen.queryByText("policy.reload")).toBeNull());
    expect(screen.getByRole("link", { name: "Export (JSON lines)" }).getAttribute("href")).toBe("/hub/api/audit?format=jsonl&user=alice");
  });
});
