/**
 * Hub names (users, servers) in the names of a backend's objects (containers, volumes, pods, claims), which allow
 * fewer characters: `[a-z0-9]` stay, every other byte of the UTF-8 text becomes `-xx` (hex). Distinct names stay
 * distinct, and an escaped text never contains `--`, which can then separate a user from a server.
 */

/** `alice` → `alice`, `john.doe` → `john-2edoe`, `Émile` → `-c3-89mile`. */
export function escapeName(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    const c = String.fromCharCode(byte);
    out += /[a-z0-9]/.test(c) ? c : `-${byte.toString(16).padStart(2, "0")}`;
  }
  return out;
}
