import { describe, expect, it } from "vitest";
import { serverNameProblem } from "../src/features/servers/server-name-rule";
import { idleSecondsLeft, nextDeadline, upcomingStop } from "../src/features/servers/stops";
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

describe("automatic stops ahead", () => {
  const now = Date.parse("2026-11-22T12:00:00Z");
  const running = server({
    status: "running",
    ready: true,
    last_activity: "2026-11-22T11:59:00Z",
    started: "2026-11-22T00:05:00Z",
    deadline: "2026-11-22T12:05:00Z",
    deadline_latest: "2026-11-22T12:35:00Z",
    stop_warning_seconds: 600,
  });

  it("warns of the sooner stop inside the warning window only", () => {
    expect(upcomingStop(running, now)).toEqual({ kind: "lifetime", secondsLeft: 300 });
    expect(upcomingStop(running, now - 10 * 60_000)).toBeNull(); // 15 min before: not yet
    const idle = { ...running, deadline: null, last_activity: "2026-11-22T10:05:00Z" };
    expect(upcomingStop(idle, now)).toEqual({ kind: "idle", secondsLeft: 300 });
    expect(upcomingStop({ ...running, status: "stopped" }, now)).toBeNull();
  });

  it("asks for an hour more, or as much as the policy still allows, or nothing", () => {
    expect(nextDeadline(running)?.toISOString()).toBe("2026-11-22T12:35:00.000Z");
    expect(nextDeadline({ ...running, deadline_latest: "2026-11-22T20:00:00Z" })?.toISOString()).toBe("2026-11-22T13:05:00.000Z");
    expect(nextDeadline({ ...running, deadline_latest: running.deadline })).toBeNull();
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
