import { describe, expect, it } from "vitest";
import { serverNameProblem } from "../src/features/servers/server-name-rule";
import { idleSecondsLeft } from "../src/features/servers/idle";
import { foldProgress, EMPTY_PROGRESS } from "../src/features/servers/api/use-progress-stream";
import { formatBytes, formatDuration } from "../src/lib/format";
import { matchRoute, spawnPendingPath } from "../src/lib/router";
import { server } from "./fixtures";

describe("the server name rule", () => {
  it("refuses what the default policy refuses, saying why", () => {
    expect(serverNameProblem("a".repeat(21), [])).toBe("A name has at most 20 characters (this one has 21).");
    expect(serverNameProblem("Bad_Name", [])).toMatch(/lowercase letters/);
    expect(serverNameProblem("trailing-", [])).toMatch(/not ending with a hyphen/);
    expect(serverNameProblem("work", ["work"])).toBe("You already have a server named work.");
    expect(serverNameProblem("a".repeat(20), [])).toBeNull();
  });
});

describe("the idle countdown", () => {
  it("counts down from the last activity and only for running servers", () => {
    const now = Date.parse("2026-11-22T12:00:00Z");
    const running = server({ status: "running", ready: true, last_activity: "2026-11-22T11:30:00Z" });
    expect(idleSecondsLeft(running, now)).toBe(5400);
    expect(idleSecondsLeft({ ...running, status: "stopped" }, now)).toBeNull();
    expect(idleSecondsLeft({ ...running, limits: { ...running.limits, idle_timeout_seconds: null } }, now)).toBeNull();
    expect(formatDuration(5400)).toBe("1 h 30 min");
  });
});

describe("progress", () => {
  it("keeps every event, the highest progress and how it ended", () => {
    let state = foldProgress(EMPTY_PROGRESS, { progress: 30, message: "Creating storage" });
    state = foldProgress(state, { progress: 10, message: "late event" });
    expect(state).toMatchObject({ progress: 30, done: null });
    state = foldProgress(state, { progress: 100, message: "ready", ready: true, url: "/user/alice/work/" });
    expect(state).toMatchObject({ progress: 100, done: "ready", url: "/user/alice/work/" });
    expect(state.events).toHaveLength(3);
  });
});

describe("routes and formats", () => {
  it("matches JupyterHub's spawn-pending URLs, default and named", () => {
    expect(matchRoute(spawnPendingPath("alice", "work"))).toEqual({ page: "spawn-pending", user: "alice", server: "work" });
    expect(matchRoute("/hub/spawn-pending/alice")).toEqual({ page: "spawn-pending", user: "alice", server: "" });
    expect(matchRoute("/hub/admin/")).toEqual({ page: "admin" });
    expect(matchRoute("/hub/nowhere")).toEqual({ page: "not-found" });
    expect(formatBytes(2 * 1024 ** 3)).toBe("2.0 GiB");
  });
});
