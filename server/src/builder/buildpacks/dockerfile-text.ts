/** Small helpers that write Dockerfile text, with the quoting rules in one place. */

/** `RUN a && \` / `    b`: one layer, one command per line. */
export function run(...commands: string[]): string {
  return `RUN ${commands.join(" && \\\n    ")}`;
}

/** `ENV A=1 \` / `    B=2`: one instruction, so one layer of metadata. */
export function env(vars: [string, string][]): string {
  return `ENV ${vars.map(([k, v]) => `${k}=${v}`).join(" \\\n    ")}`;
}

/** A JSON array, the exec form of ENTRYPOINT and CMD (no shell between Docker and the program). */
export function execForm(argv: string[]): string {
  return JSON.stringify(argv).replace(/","/g, '", "');
}

const REQUIREMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9._,-]+\])?((===?|[<>!~]=|[<>])[A-Za-z0-9.*+!_-]+,?)*$/;

/** A pip requirement from the site's configuration, double-quoted for the shell (`>=` would be a redirect). */
export function pipRequirement(spec: string): string {
  if (!REQUIREMENT.test(spec)) throw new Error(`${JSON.stringify(spec)} is not a pip requirement such as name==1.2`);
  return `"${spec}"`;
}

/** LABEL values: printable text only, double-quoted with JSON escaping (which Dockerfile quoting accepts). */
export function labels(values: Record<string, string>): string[] {
  return Object.entries(values).map(([key, value]) => {
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(key)) throw new Error(`label key ${JSON.stringify(key)} is not a reverse-DNS key`);
    if (/[\x00-\x1f\x7f]/.test(value)) throw new Error(`label ${key} has a control character`);
    return `LABEL ${key}=${JSON.stringify(value)}`;
  });
}
