/**
 * What the hub keeps in Server.backendState: the spawner's own opaque state, plus the server's token sealed with the
 * hub's key (the proxy needs it after a restart; a database copy alone must not open anyone's server).
 */
import type { SecretBox } from "../lib/secrets.js";
import { BINDER_OPTION, type BinderOrigin } from "./types.js";
import type { Spawner } from "../spawners/types.js";

interface PersistedState {
  backend?: Record<string, unknown>;
  token?: string;
}

export function persistState(spawner: Spawner, secrets: SecretBox, token?: string): string {
  const state: PersistedState = { backend: spawner.state() };
  if (token) state.token = secrets.seal(token);
  return JSON.stringify(state);
}

/** Hands a persisted backend state back to a (fresh) spawner. */
export function restoreSpawner(spawner: Spawner, backendState: string | null): Spawner {
  const backend = backendState ? parseState(backendState).backend : undefined;
  if (backend) spawner.restore(backend);
  return spawner;
}

export function backendStateOf(backendState: string | null): Record<string, unknown> | null {
  return backendState ? (parseState(backendState).backend ?? null) : null;
}

export function tokenOf(backendState: string | null, secrets: SecretBox): string | undefined {
  const sealed = backendState ? parseState(backendState).token : undefined;
  return sealed ? secrets.unseal(sealed) : undefined;
}

function parseState(text: string): PersistedState {
  const value = parseJsonObject(text);
  return { backend: value.backend as Record<string, unknown> | undefined, token: value.token as string | undefined };
}

/** Where a server launched from a repository came from (its `user_options.binder`), or undefined. */
export function binderOriginOf(userOptions: string): BinderOrigin | undefined {
  const value = parseJsonObject(userOptions)[BINDER_OPTION];
  return value && typeof value === "object" ? (value as BinderOrigin) : undefined;
}

/** Parses a JSON object column; anything else (corrupt, not an object) reads as {}. */
export function parseJsonObject(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
