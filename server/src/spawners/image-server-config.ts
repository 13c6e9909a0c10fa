/**
 * Configuration fields every backend that runs Jupyter in a container image shares (docker, kubernetes): the Jupyter
 * command and its extra arguments and environment, the home folder, and the non-root ids it runs as. Each backend's
 * section spreads `imageServerFields` and adds its own.
 */
import { z } from "zod";

/** A uid or gid: any id the kernel takes, except root's. */
export const nonRootId = (what: string) =>
  z
    .number()
    .int()
    .min(1, { error: `${what} must be at least 1 (0 is root's, and servers never run as root)` })
    .max(2 ** 31 - 2);

export const imageServerFields = {
  command: z
    .array(z.string())
    .min(1)
    .default(["jupyter", "lab"])
    .describe("The Jupyter command inside the image (argv); the hub appends its own --ServerApp options."),
  args: z.array(z.string()).default([]).describe("Extra arguments appended after the hub's options."),
  env: z.record(z.string(), z.string()).default({}).describe("Extra environment for every server."),
  homeDir: z
    .string()
    .regex(/^\//, { error: "must be an absolute path" })
    .default("/home/jovyan")
    .describe("Where the server's storage is mounted: its working directory, $HOME and Jupyter's root."),
};
