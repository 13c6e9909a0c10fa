/**
 * How the builder runs git against a repository a user named: nothing inherited that could change what git does
 * (no system or user config, no credential helper or prompt, no hooks), only the http(s) transports the site allows,
 * redirects followed only where private hosts are allowed (a public host could redirect to a private one), and git-lfs
 * kept from downloading (LFS files stay pointers, as in repo2docker). Shared by resolve-ref.ts and build/checkout.ts.
 */
import type { RepoUrlRules } from "./repo-spec.js";
import { allowedSchemes } from "./repo-url.js";

type Rules = Pick<RepoUrlRules, "allowHttp" | "allowPrivateHosts">;

/** The environment git runs with: PATH and locale only, plus the hardening variables. */
export function hardenedGitEnv(rules: Rules): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    LANG: "C",
    LC_ALL: "C",
    HOME: "/nonexistent",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_TERMINAL_PROMPT: "0",
    GIT_ASKPASS: "/bin/false",
    SSH_ASKPASS: "/bin/false",
    GIT_ALLOW_PROTOCOL: allowedSchemes(rules).join(":"),
    GIT_LFS_SKIP_SMUDGE: "1",
  };
}

/** `-c` options before every git subcommand. */
export function hardenedGitConfig(rules: Rules): string[] {
  return [
    "-c", "protocol.file.allow=never",
    "-c", "credential.helper=",
    "-c", `http.followRedirects=${rules.allowPrivateHosts ? "initial" : "false"}`,
    "-c", "core.hooksPath=/dev/null",
  ];
}

/** The first meaningful line of git's stderr (an error line when there is one), without control characters. */
export function gitMessage(stderr: string): string {
  const lines = stderr
    .split(/[\r\n]/)
    .map((l) => l.replace(/[\x00-\x1f\x7f]/g, "").trim())
    .filter((l) => l && !l.startsWith("hint:"));
  const line = lines.find((l) => /^(fatal|error):/.test(l)) ?? lines[0];
  return (line ?? "git failed").replace(/^(fatal|error): /, "").slice(0, 300);
}
