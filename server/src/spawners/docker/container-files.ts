/**
 * What the hub writes into a server's container after creating it and before starting it, through the engine's
 * archive API (PUT /containers/{id}/archive), so that nothing of the hub's is mounted into the container:
 *
 * - the hub's Jupyter configuration (server/jupyter-config), copied to HUB_CONFIG_TARGET as root-owned files 0644 in
 *   root-owned 0755 folders: the server reads it and cannot change it, and no path of the hub's machine is visible;
 * - the root of the server's volume, as a folder entry with uid:gid and mode 0700. The engine applies an entry's owner
 *   and mode to a folder that already exists, mount points included, so this sets the volume's root whatever its kind
 *   (a plain volume, or one bound to a loop-mounted ext4 image) and whatever the image has at that path (a Binder
 *   image has nothing at its storage folder, which the engine would otherwise leave root-owned). What is inside stays:
 *   the engine copies the image's files into an empty volume when it creates the container, before this.
 *
 * containerFiles() is pure (unit-tested entry by entry); packFiles() makes the tar the engine unpacks.
 */
import path from "node:path";
import tar from "tar-stream";
import type { HubConfigFile } from "../jupyter-config.js";
import { HUB_CONFIG_TARGET } from "../image-server.js";

/** One tar entry; `name` is relative to the container's `/`, a folder's ends in `/`. */
export interface ContainerFile {
  name: string;
  type: "directory" | "file";
  mode: number;
  uid: number;
  gid: number;
  content?: string;
}

export interface ContainerFilesInput {
  hubConfig: HubConfigFile[];
  /** The volume's mount point in the container. */
  mountPoint: string;
  uid: number;
  gid: number;
}

const relative = (absolute: string) => path.posix.normalize(absolute).replace(/^\/+/, "").replace(/\/+$/, "");

export function containerFiles(input: ContainerFilesInput): ContainerFile[] {
  const root = { uid: 0, gid: 0 };
  const parts = relative(HUB_CONFIG_TARGET).split("/");
  // The configuration's folders below the top one (/etc, which every image has and whose metadata is not ours).
  const configDirs = parts.slice(1).map((_, i) => parts.slice(0, i + 2).join("/"));
  return [
    ...configDirs.map((dir): ContainerFile => ({ name: `${dir}/`, type: "directory", mode: 0o755, ...root })),
    ...input.hubConfig.map(
      (file): ContainerFile => ({
        name: `${relative(HUB_CONFIG_TARGET)}/${file.name}`,
        type: "file",
        mode: 0o644,
        ...root,
        content: file.content,
      }),
    ),
    { name: `${relative(input.mountPoint)}/`, type: "directory", mode: 0o700, uid: input.uid, gid: input.gid },
  ];
}

/** The entries as an uncompressed tar, in order (the engine unpacks it as it comes). */
export async function packFiles(files: ContainerFile[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const { content, ...header } of files) {
    if (header.type === "file") pack.entry(header, content ?? "");
    else pack.entry(header);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk);
  return Buffer.concat(chunks);
}
