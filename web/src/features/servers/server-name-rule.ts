/** The hub's default server-name rule (policies: ≤ 20 characters, JupyterHub 6's pattern); the hub has the last word. */
export const MAX_SERVER_NAME = 20;
export const SERVER_NAME_PATTERN = /^[a-z](?:[a-z0-9]|-(?=[a-z0-9]))*$/;

/** Why `name` is not a valid server name, or null when it is. */
export function serverNameProblem(name: string, existing: readonly string[]): string | null {
  if (name === "") return "Enter a name.";
  if (name.length > MAX_SERVER_NAME) return `A name has at most ${MAX_SERVER_NAME} characters (this one has ${name.length}).`;
  if (!SERVER_NAME_PATTERN.test(name)) {
    return "Use lowercase letters, digits and single hyphens, starting with a letter and not ending with a hyphen.";
  }
  if (existing.includes(name)) return `You already have a server named ${name}.`;
  return null;
}
