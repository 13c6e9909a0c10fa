/**
 * The audit events that are not the REST API's (audit/requests.ts records those): built here, in one shape, by the
 * parts of the hub that see them happen — the sign-in pages, the proxy's gate, the policy engine, the culler and the
 * servers module acting on its own.
 */
import type { PolicyReloadEvent, PolicySet } from "../policy/index.js";
import type { ProxyRefusal } from "../proxy/types.js";
import type { AuditInput } from "./trail.js";

/** Something the hub did by itself (nobody asked): the culler's stops (`actor: culler`), roll-backs, reloads. */
export function byHub(event: Omit<AuditInput, "actor" | "actorKind">, actor = "hub"): AuditInput {
  return { actor, actorKind: "hub", ...event };
}

/** A sign-in, by the form or an OpenID Connect provider (`via`). */
export function signedIn(user: string, via: string, address: string | undefined): AuditInput {
  return { actor: user, actorKind: "user", action: "sign-in", user, outcome: "ok", detail: { via }, address: address ?? null };
}

/** A refused sign-in: the name as typed (cut short: it is anyone's input), never the password. */
export function signInRefused(refusal: { typed?: string; status: number; reason: string; via: string; address: string | undefined }): AuditInput {
  return {
    actor: "anonymous",
    actorKind: "anonymous",
    action: "sign-in",
    user: refusal.typed?.slice(0, 100) || null,
    outcome: "refused",
    status: refusal.status,
    detail: { reason: refusal.reason, via: refusal.via },
    address: refusal.address ?? null,
  };
}

/** A request or WebSocket the proxy refused (someone else's server, a cross-site request). */
export function proxyRefused({ req, identity, user, serverName, message, upgrade }: ProxyRefusal): AuditInput {
  return {
    actor: identity?.name ?? "anonymous",
    actorKind: !identity ? "anonymous" : identity.admin ? "admin" : "user",
    action: "proxy.access",
    user,
    server: serverName,
    outcome: "refused",
    status: 403,
    detail: { message, method: req.method, ...(upgrade ? { websocket: true } : {}) },
    address: req.socket.remoteAddress ?? null,
  };
}

/**
 * A Binder launch (it builds and starts a server) and how it ended: ready, failed with the reason, or left by its page
 * before the end. `repository` is the spec as it may be shown (credentials replaced).
 */
export function binderLaunched(
  user: string,
  repository: string,
  last: { phase?: string; message?: string },
  pageClosed: boolean,
  address: string | undefined,
): AuditInput {
  const ended = last.phase === "ready" || last.phase === "failed";
  return {
    actor: user,
    actorKind: "user",
    action: "binder.launch",
    user,
    outcome: last.phase === "ready" ? "ok" : "failed",
    detail: {
      repository,
      phase: last.phase ?? "none",
      ...(last.message ? { message: last.message } : {}),
      ...(pageClosed && !ended ? { left: "the launch page closed before the end" } : {}),
    },
    address: address ?? null,
  };
}

function byName(set: PolicySet): Map<string, string> {
  // The content without the path: the same policy read from a remounted folder is no change.
  return new Map([set.defaultPolicy, ...set.overrides].map(({ file: _file, ...policy }) => [policy.name, JSON.stringify(policy)]));
}

/** A policy reload: which policies were added, removed or changed (by name), or why the new files were refused. */
export function policyReloaded(event: PolicyReloadEvent): AuditInput {
  if (!event.ok) {
    return byHub({ action: "policy.reload", outcome: "failed", detail: { problems: event.problems, kept: "the previous policies stay in force" } });
  }
  const [before, after] = [byName(event.before), byName(event.after)];
  const added = [...after.keys()].filter((name) => !before.has(name));
  const removed = [...before.keys()].filter((name) => !after.has(name));
  const changed = [...after.keys()].filter((name) => before.has(name) && before.get(name) !== after.get(name));
  return byHub({ action: "policy.reload", outcome: "ok", detail: { added, removed, changed } });
}
