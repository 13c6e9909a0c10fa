/**
 * The container of one server as a Docker Engine API create request: a pure function (no engine call), after
 * KubeSpawner's make_pod, so that every option is covered by plain unit tests.
 *
 * What a server may do is decided here: it runs as a fixed non-root uid:gid (never the image's choice, never root),
 * with every capability dropped, no-new-privileges (a setuid binary in the image cannot make it root again), a pids
 * limit (a fork bomb stops there), never privileged, and no mount but its own volume: neither the engine's socket
 * nor any file of the hub. The hub's Jupyter configuration is copied in instead (container-files.ts).
 */
import type { ContainerCreateOptions } from "dockerode";
import type { ServerLimits } from "../types.js";
import { imageServerEnv, jupyterCommand, JUPYTER_PORT, storageMountPoint } from "../image-server.js";

export interface ContainerInput {
  name: string;
  image: string;
  /** The Jupyter command, e.g. ["jupyter", "lab"]; the hub's options follow it, then `args`. */
  command: string[];
  args: string[];
  /** Configured env < the spawn context's env; the hub's own variables are added on top. */
  env: Record<string, string>;
  token: string;
  baseUrl: string;
  /** Working directory, HOME and Jupyter's root_dir; the volume's mount point unless `storageDir` is set. */
  homeDir: string;
  /** Where the volume is mounted instead of `homeDir` (a Binder image keeps the repository in the home folder). */
  storageDir?: string;
  volume: string;
  network: string;
  limits: ServerLimits;
  /** The uid and gid the server runs as (≥ 1: validated with the configuration). */
  uid: number;
  gid: number;
  /** Most processes and threads the container may have at once. */
  pidsLimit: number;
  labels: Record<string, string>;
}

export function containerSpec(input: ContainerInput): ContainerCreateOptions {
  const port = `${JUPYTER_PORT}/tcp`;
  // The token through the environment, never argv (visible in `ps` to every process of the container).
  const env = { ...imageServerEnv(input.env, input.homeDir), JUPYTER_TOKEN: input.token };
  const memory = Math.round(input.limits.memoryBytes);
  return {
    name: input.name,
    Image: input.image,
    Cmd: jupyterCommand(input),
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    Labels: input.labels,
    // "uid:gid" in numbers: no lookup in the image's /etc/passwd, and no supplementary groups from its /etc/group.
    User: `${input.uid}:${input.gid}`,
    WorkingDir: input.homeDir,
    ExposedPorts: { [port]: {} },
    HostConfig: {
      // A random port on the host's loopback: reachable by the hub (and its proxy), by nothing outside the machine.
      PortBindings: { [port]: [{ HostIp: "127.0.0.1", HostPort: "" }] },
      NetworkMode: input.network,
      NanoCpus: Math.round(input.limits.cpu * 1e9),
      Memory: memory,
      // Equal to Memory: no swap on top of the granted memory.
      MemorySwap: memory,
      Mounts: [{ Type: "volume", Source: input.volume, Target: storageMountPoint(input) }],
      // The engine's tiny init as PID 1: signals reach Jupyter, exited kernels are reaped.
      Init: true,
      // Jupyter needs none; with an empty bounding set no setuid or file-capability binary can grant one either.
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      PidsLimit: input.pidsLimit,
      Privileged: false,
      RestartPolicy: { Name: "no" },
    },
  };
}
