/** The `spawner.local` section: servers as processes on the hub's machine. */
import { z } from "zod";

export const localSpawnerConfig = z
  .object({
    command: z
      .array(z.string())
      .min(1)
      .default(["jupyter", "lab"])
      .describe("The Jupyter server command (argv); the hub appends its own --ServerApp options."),
    args: z.array(z.string()).default([]).describe("Extra arguments appended after the hub's options."),
    env: z.record(z.string(), z.string()).default({}).describe("Extra environment for every server."),
    storage: z
      .enum(["auto", "loop", "directory"])
      .default("auto")
      .describe("`loop`: a size-limited filesystem image per server (root only); `directory`: plain directory with measured usage; `auto`: loop when possible."),
    cgroups: z
      .enum(["auto", "off"])
      .default("auto")
      .describe("Enforce CPU and memory with cgroups when the hierarchy is writable (`off` to disable)."),
    cgroupParent: z
      .string()
      .regex(/^[a-zA-Z0-9_.-]+$/)
      .default("ganymede")
      .describe("The cgroup under which each server gets its own group; give each hub on a machine its own."),
    isolation: z
      .enum(["users", "none"])
      .default("users")
      .describe("`users`: every hub user's servers run as that user's own unprivileged Unix uid (the hub must run as root to switch; a hub that is not root runs servers for one user only). `none`: every server runs as the hub's own uid — only for a single person's machine, and refused when the hub is root."),
    uids: z
      .object({
        first: z.number().int().min(1000).describe("The first uid handed out."),
        last: z.number().int().max(2 ** 31 - 2).describe("The last uid handed out."),
      })
      .strict()
      .refine((r) => r.first <= r.last, { error: "first must not be greater than last" })
      .default({ first: 1_000_000, last: 1_999_999 })
      .describe("The uids (and equal gids) allocated to hub users, one each, recorded in the database and never reused. Uids of the machine's accounts (/etc/passwd, /etc/group) and subordinate ranges (/etc/subuid, /etc/subgid) are skipped."),
    sandbox: z
      .enum(["auto", "on", "off"])
      .default("auto")
      .describe("Run each server in a bubblewrap sandbox: its own home, a read-only system, private /tmp and process list, nothing of the hub or other users. `auto`: when bwrap works on this machine; `on`: a start fails without it."),
    runDir: z
      .string()
      .optional()
      .describe("Where each server's private socket folder lives (default /run/ganymede/<8 hex digits> for a root hub, else <dataDir>/servers/.run). Unix socket paths are limited to 107 bytes: use a short path."),
  })
  .strict()
  .prefault({});

export type LocalSpawnerConfig = z.output<typeof localSpawnerConfig>;
