/**
 * How a Jupyter server runs in a container image, whatever runs the container (the Docker engine, Kubernetes): the
 * port, the command line the hub gives Jupyter, its environment and where the hub's Jupyter configuration and the
 * server's storage go in the container.
 */

/** The port Jupyter listens on inside every container. */
export const JUPYTER_PORT = 8888;
/** Where the hub's own Jupyter configuration (server/jupyter-config) is copied, root-owned: the server reads it only. */
export const HUB_CONFIG_TARGET = "/etc/ganymede/jupyter";

/** The options the hub always gives Jupyter (before the configured args, which may override them). */
export function jupyterOptions(baseUrl: string, homeDir: string): string[] {
  return [
    // All interfaces of the container: the engine publishes the port on the host's loopback only; a pod is reached at its IP.
    "--ServerApp.ip=0.0.0.0",
    `--ServerApp.port=${JUPYTER_PORT}`,
    "--ServerApp.port_retries=0",
    `--ServerApp.base_url=${baseUrl}`,
    `--ServerApp.root_dir=${homeDir}`,
    // Requests arrive from the hub's proxy, with the hub's Host header.
    "--ServerApp.allow_remote_access=True",
    "--no-browser",
  ];
}

/** Where the server's storage is mounted in the container. */
export function storageMountPoint(input: { homeDir: string; storageDir?: string }): string {
  return input.storageDir ?? input.homeDir;
}

/** The Jupyter command, the hub's options, then the configured extra arguments (which may override them). */
export function jupyterCommand(input: { command: string[]; args: string[]; baseUrl: string; homeDir: string }): string[] {
  return [...input.command, ...jupyterOptions(input.baseUrl, input.homeDir), ...input.args];
}

/** The server's environment without its token (each backend passes the token its own way): `env` plus the hub's. */
export function imageServerEnv(env: Record<string, string>, homeDir: string): Record<string, string> {
  return {
    ...env,
    HOME: homeDir,
    // The hub's configuration first; an image's own JUPYTER_CONFIG_PATH entries still apply after it.
    JUPYTER_CONFIG_PATH: [HUB_CONFIG_TARGET, env.JUPYTER_CONFIG_PATH].filter(Boolean).join(":"),
  };
}
