/**
 * What the hub keeps in Server.backendState: the spawner's own opaque state, plus the server's token sealed with the
 * hub's key (the proxy needs it after a restart; a database copy alone must not open anyone's server).
 */
import type { SecretBox } from "../lib/secrets.js";
import { BINDER_OPTION, type BinderOrigin } from "./types.js";
import { ForeignServerError } from "../errors.js";
import type { ServerIdentity, Spawner } from "../spawners/types.js";

interface PersistedState {
  /** Which backend made the server ("local", "docker"); absent in rows written before it was recorded. */
  spawner?: string;
  backend?: Record<string, unknown>;
  token?: string;
}

export function persistState(spawner: Spawner, secrets: SecretBox, token?: string): string {
  const state: PersistedState = { spawner: spawner.backend, backend: spawner.state() };
  if (token) state.token = secrets.seal(token);
  return JSON.stringify(state);
}

/**
 * Hands a persisted backend state back to a (fresh) spawner. Throws ForeignServerError when another backend made the
 * server (recorded, or for older rows a state this backend does not understand).
 */
export function restoreSpawner(spawner: Spawner, backendState: string | null, identity: ServerIdentity): Spawner {
  const persisted = backendState ? parseState(backendState) : {};
  if (persisted.spawner && persisted.spawner !== spawner.backend) throw new ForeignServerError(identity, persisted.spawner, spawner.backend);
  if (persisted.backend) {
    try {
      spawner.restore(persisted.backend);
    } catch {
      throw new ForeignServerError(identity, persisted.spawner ?? "another", spawner.backend);
    }
  }
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
  return {
    spawner: typeof value.spawner === "string" ? value.spawner : undefined,
    backend: value.backend as Record<string, unknown> | undefined,
    token: value.token as string | undefined,
  };
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
