/**
 * What the hub keeps in Server.backendState: the spawner's own opaque state, plus the server's token sealed with the
 * hub's key (the proxy needs it after a restart; a database copy alone must not open anyone's server).
 */
import type { SecretBox } from "../lib/secrets.js";
import { BINDER_OPTION, type BinderOrigin } from "./types.js";
import { ForeignServerError } from "../errors.js";
import type { ServerIdentity, Spawner } from "../spawners/types.js";

interface PersistedState {
  backend?: Record<string, unknown>;
  token?: string;
}

/** What a server row keeps of its backend: which one made it (`Server.backend`) and that backend's state. */
export interface PersistedServer {
  backend: string;
  backendState: string | null;
}

/** The row fields to write after the spawner's state changed (spread into the update's `data`). */
export function persistState(spawner: Spawner, secrets: SecretBox, token?: string): PersistedServer & { backendState: string } {
  const state: PersistedState = { backend: spawner.state() };
  if (token) state.token = secrets.seal(token);
  return { backend: spawner.backend, backendState: JSON.stringify(state) };
}

/**
 * Hands a persisted backend state back to a (fresh) spawner. Throws ForeignServerError when another backend made the
 * server: its processes and files are that backend's, not this one's to start, stop or delete.
 */
export function restoreSpawner(spawner: Spawner, row: PersistedServer, identity: ServerIdentity): Spawner {
  if (row.backend !== spawner.backend) throw new ForeignServerError(identity, row.backend, spawner.backend);
  const backend = row.backendState ? parseState(row.backendState).backend : undefined;
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
