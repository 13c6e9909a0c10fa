/**
 * Everything a server process is started with, decided before it starts: its environment, the paths it sees (its
 * own in the sandbox: /home/<name>, /run/user/<uid>; the real ones without), Jupyter's argv, and the chain that runs
 * it (cgroups → setpriv → bubblewrap → Jupyter). Also writes the sandbox's passwd and group files.
 */
import { existsSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { SpawnError } from "../../errors.js";
import type { SpawnContext } from "../types.js";
import { hubOptions, resolveCommand, serverEnv } from "./launch.js";
import type { ServerLayout } from "../host-storage/layout.js";
import { SOCKET_NAME } from "./sockets.js";
import { launchArgv } from "./privileges.js";
import { SPAWN_ID_VAR } from "./process-table.js";
import { unusableByOthers } from "./reachable.js";
import { insidePaths, installationOf, sandboxArgv, type SandboxSupport } from "./sandbox.js";
import { groupWith, passwdWith, type UnixUser } from "./unix-user.js";

export interface LaunchInput {
  command: string[];
  args: string[];
  /** Configured environment for every server. */
  env: Record<string, string>;
  sandbox: SandboxSupport;
  jupyterConfigDir: string;
  /** Folders the sandbox hides (the hub's data, the servers' root, the socket folders' root). */
  hide: string[];
  layout: ServerLayout;
  socketDir: string;
  /** The account the server runs as. */
  account: UnixUser;
  /** Whether it is the user's own (the hub switches to it) rather than the hub's. */
  switching: boolean;
  cgroupProcs: string[];
  spawnId: string;
  ctx: SpawnContext;
}

export interface LaunchPlan {
  argv: string[];
  env: Record<string, string>;
  /** Jupyter's own argv (for the log). */
  jupyter: string[];
  sandboxed: boolean;
}

export async function planLaunch(input: LaunchInput): Promise<LaunchPlan> {
  const { layout, account, ctx } = input;
  const sandboxed = input.sandbox.ok;
  const inside = sandboxed ? insidePaths(account) : { home: layout.workdir, run: input.socketDir, config: input.jupyterConfigDir };
  const configured = { ...input.env, ...ctx.env };
  const shell = existsSync("/bin/bash") ? "/bin/bash" : "/bin/sh";
  const env = serverEnv(input.env, ctx.env, {
    HOME: inside.home,
    USER: account.name,
    LOGNAME: account.name,
    SHELL: shell,
    JUPYTER_TOKEN: ctx.token,
    JUPYTER_CONFIG_PATH: [inside.config, configured.JUPYTER_CONFIG_PATH].filter(Boolean).join(path.delimiter),
    JUPYTER_RUNTIME_DIR: inside.run,
    XDG_RUNTIME_DIR: inside.run,
    [SPAWN_ID_VAR]: input.spawnId,
  });
  const [cmd, ...cmdArgs] = input.command;
  const exe = resolveCommand(cmd!, env.PATH ?? "");
  if (!exe) throw new SpawnError("backend", `command not found: ${cmd}`);
  const why = input.switching ? unusableByOthers(exe, { read: true, execute: true }) : undefined;
  if (why) {
    throw new SpawnError(
      "backend",
      `The server command ${exe} cannot be run by the server's own uid: ${why}. Install Jupyter where every user can read it (e.g. /opt), or set spawner.local.command.`,
    );
  }
  const jupyter = [exe, ...cmdArgs, ...hubOptions(ctx.baseUrl, path.join(inside.run, SOCKET_NAME), inside.home), ...input.args];
  let command = jupyter;
  if (input.sandbox.ok) {
    await writeFile(layout.passwd, passwdWith(readFileSync("/etc/passwd", "utf8"), account, inside.home, shell), { mode: 0o644 });
    await writeFile(layout.group, groupWith(readFileSync("/etc/group", "utf8"), account), { mode: 0o644 });
    command = sandboxArgv(
      {
        bwrap: input.sandbox.bwrap,
        home: { outside: layout.workdir, inside: inside.home },
        run: { outside: input.socketDir, inside: inside.run },
        config: { outside: input.jupyterConfigDir, inside: inside.config },
        passwd: layout.passwd,
        group: layout.group,
        hide: input.hide,
        expose: [installationOf(exe)],
      },
      jupyter,
    );
  }
  const argv = launchArgv({ cgroupProcs: input.cgroupProcs, switchTo: input.switching ? account : undefined, command });
  return { argv, env, jupyter, sandboxed };
}
