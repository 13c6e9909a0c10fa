/**
 * The Docker spawner's pure parts, without an engine: names, the container create request, the files copied into a
 * container, config, log frames.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import tar from "tar-stream";
import { describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import { containerFiles, packFiles, type ContainerFile } from "../../src/spawners/docker/container-files.js";
import { readHubConfig } from "../../src/spawners/jupyter-config.js";
import { containerSpec, type ContainerInput } from "../../src/spawners/docker/container-spec.js";
import { demuxLogs } from "../../src/engines/docker.js";
import { isOurs, objectLabels, objectName } from "../../src/spawners/docker/naming.js";
import { escapeName } from "../../src/spawners/object-names.js";
import { repoRoot } from "../support/paths.js";

describe("names", () => {
  it("escapes every byte outside [a-z0-9], so any username gives a valid Docker name", () => {
    expect(escapeName("alice")).toBe("alice");
    expect(escapeName("john.doe")).toBe("john-2edoe");
    expect(escapeName("a-b")).toBe("a-2db");
    expect(escapeName("Émile")).toBe("-c3-89mile");
    expect(escapeName("x@y_z")).toBe("x-40y-5fz");
    for (const name of ["a-b", "a--b", "-", "é-", "A"]) expect(escapeName(name)).not.toContain("--");
  });

  it("names a server's container and volume <prefix>-<user>[--<server>]", () => {
    expect(objectName("ganymede", { user: "alice", serverName: "" })).toBe("ganymede-alice");
    expect(objectName("ganymede", { user: "alice", serverName: "work" })).toBe("ganymede-alice--work");
    expect(objectName("ganymede", { user: "a-b", serverName: "c" })).toBe("ganymede-a-2db--c");
    // Distinct identities never share a name, whatever their characters.
    const ids = [
      { user: "a", serverName: "b" },
      { user: "a--b", serverName: "" },
      { user: "a-b", serverName: "" },
      { user: "a", serverName: "" },
      { user: "a-", serverName: "b" },
    ];
    expect(new Set(ids.map((id) => objectName("p", id))).size).toBe(ids.length);
  });

  it("recognises its own objects by label", () => {
    const id = { user: "alice", serverName: "work" };
    const labels = objectLabels("hub1", id);
    expect(labels).toEqual({ "ganymede.hub": "hub1", "ganymede.user": "alice", "ganymede.server": "work" });
    expect(isOurs(labels, "hub1", id)).toBe(true);
    expect(isOurs(labels, "hub2", id)).toBe(false);
    expect(isOurs(labels, "hub1", { user: "alice", serverName: "" })).toBe(false);
    expect(isOurs(undefined, "hub1", id)).toBe(false);
  });
});

describe("the container create request", () => {
  const input: ContainerInput = {
    name: "ganymede-alice--work",
    image: "registry.example.org/binder/repo:abc123",
    command: ["jupyter", "lab"],
    args: ["--ServerApp.terminals_enabled=False"],
    env: { LANG: "C.UTF-8", JUPYTER_CONFIG_PATH: "/opt/conf" },
    token: "s3cret",
    baseUrl: "/user/alice/work/",
    homeDir: "/home/jovyan",
    volume: "ganymede-alice--work",
    network: "ganymede",
    limits: { cpu: 1.5, memoryBytes: 2e9, storageBytes: 2 * 2 ** 30 },
    uid: 1000,
    gid: 1000,
    pidsLimit: 1024,
    labels: { "ganymede.hub": "ganymede", "ganymede.user": "alice", "ganymede.server": "work" },
  };

  it("is the expected request, in full", () => {
    expect(containerSpec(input)).toEqual({
      name: "ganymede-alice--work",
      Image: "registry.example.org/binder/repo:abc123",
      Cmd: [
        "jupyter",
        "lab",
        "--ServerApp.ip=0.0.0.0",
        "--ServerApp.port=8888",
        "--ServerApp.port_retries=0",
        "--ServerApp.base_url=/user/alice/work/",
        "--ServerApp.root_dir=/home/jovyan",
        "--ServerApp.allow_remote_access=True",
        "--no-browser",
        "--ServerApp.terminals_enabled=False",
      ],
      Env: [
        "LANG=C.UTF-8",
        "JUPYTER_CONFIG_PATH=/etc/ganymede/jupyter:/opt/conf",
        "HOME=/home/jovyan",
        "JUPYTER_TOKEN=s3cret",
      ],
      Labels: { "ganymede.hub": "ganymede", "ganymede.user": "alice", "ganymede.server": "work" },
      User: "1000:1000",
      WorkingDir: "/home/jovyan",
      ExposedPorts: { "8888/tcp": {} },
      HostConfig: {
        PortBindings: { "8888/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] },
        NetworkMode: "ganymede",
        NanoCpus: 1_500_000_000,
        Memory: 2_000_000_000,
        MemorySwap: 2_000_000_000,
        Mounts: [{ Type: "volume", Source: "ganymede-alice--work", Target: "/home/jovyan" }],
        Init: true,
        CapDrop: ["ALL"],
        SecurityOpt: ["no-new-privileges"],
        PidsLimit: 1024,
        Privileged: false,
        RestartPolicy: { Name: "no" },
      },
    });
  });

  it("never puts the token on the command line, and the hub's variables win over configured ones", () => {
    const spec = containerSpec({ ...input, env: { JUPYTER_TOKEN: "configured", HOME: "/tmp" } });
    expect(spec.Cmd!.join(" ")).not.toContain("s3cret");
    expect(spec.Env).toEqual(expect.arrayContaining(["JUPYTER_TOKEN=s3cret", "HOME=/home/jovyan", "JUPYTER_CONFIG_PATH=/etc/ganymede/jupyter"]));
    expect(spec.Env!.filter((e) => e.startsWith("JUPYTER_TOKEN="))).toHaveLength(1);
  });

  it("runs as the configured uid:gid with the configured pids limit, and mounts the volume only", () => {
    const spec = containerSpec({ ...input, uid: 4242, gid: 100, pidsLimit: 128, storageDir: "/home/jovyan/work" });
    expect(spec.User).toBe("4242:100");
    expect(spec.HostConfig).toMatchObject({ PidsLimit: 128, CapDrop: ["ALL"], Privileged: false, SecurityOpt: ["no-new-privileges"] });
    expect(spec.HostConfig!.Mounts).toEqual([{ Type: "volume", Source: "ganymede-alice--work", Target: "/home/jovyan/work" }]);
    expect(spec.HostConfig!.Binds).toBeUndefined();
  });
});

describe("the files copied into a container before it starts", () => {
  const hubConfig = [{ name: "jupyter_server_config.py", content: "c.X = 1\n" }];

  it("are the hub's configuration, root-owned and read-only for the server, and the volume's root, the server's own", () => {
    expect(containerFiles({ hubConfig, mountPoint: "/home/jovyan", uid: 1000, gid: 1000 })).toEqual([
      { name: "etc/ganymede/", type: "directory", mode: 0o755, uid: 0, gid: 0 },
      { name: "etc/ganymede/jupyter/", type: "directory", mode: 0o755, uid: 0, gid: 0 },
      { name: "etc/ganymede/jupyter/jupyter_server_config.py", type: "file", mode: 0o644, uid: 0, gid: 0, content: "c.X = 1\n" },
      { name: "home/jovyan/", type: "directory", mode: 0o700, uid: 1000, gid: 1000 },
    ]);
    expect(containerFiles({ hubConfig: [], mountPoint: "/home/jovyan/work/", uid: 4242, gid: 100 }).at(-1)).toEqual({
      name: "home/jovyan/work/",
      type: "directory",
      mode: 0o700,
      uid: 4242,
      gid: 100,
    });
  });

  it("read the hub's configuration folder as it ships", () => {
    const dir = path.join(repoRoot, "server/jupyter-config");
    expect(readHubConfig(dir)).toEqual([
      { name: "jupyter_server_config.py", content: readFileSync(path.join(dir, "jupyter_server_config.py"), "utf8") },
    ]);
  });

  it("are packed as a tar with each entry's owner, mode and content", async () => {
    const files = containerFiles({ hubConfig, mountPoint: "/home/jovyan", uid: 1000, gid: 1000 });
    const unpacked: ContainerFile[] = [];
    const extract = tar.extract();
    extract.on("entry", (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const { name, type, mode, uid, gid } = header;
        const content = type === "file" ? { content: Buffer.concat(chunks).toString("utf8") } : {};
        unpacked.push({ name, type, mode, uid, gid, ...content } as ContainerFile);
        next();
      });
    });
    const done = new Promise((resolve, reject) => extract.on("finish", resolve).on("error", reject));
    extract.end(await packFiles(files));
    await done;
    expect(unpacked).toEqual(files);
  });
});

describe("configuration", () => {
  it("requires an image with backend: docker and documents the defaults", () => {
    const missing = configSchema.safeParse({ spawner: { backend: "docker" } });
    expect(missing.success).toBe(false);
    expect(missing.error!.issues).toEqual([expect.objectContaining({ path: ["spawner", "docker", "image"] })]);

    const ok = configSchema.parse({ spawner: { backend: "docker", docker: { image: "ganymede/notebook:1" } } });
    expect(ok.spawner.docker).toEqual({
      socketPath: "/var/run/docker.sock",
      image: "ganymede/notebook:1",
      command: ["jupyter", "lab"],
      args: [],
      env: {},
      homeDir: "/home/jovyan",
      network: "ganymede",
      namePrefix: "ganymede",
      storage: "auto",
      uid: 1000,
      gid: 1000,
    });
    expect(ok.spawner.pidsLimit).toBe(1024);
    expect(configSchema.safeParse({ spawner: { docker: { namePrefix: "Bad_Prefix" } } }).success).toBe(false);
    expect(configSchema.safeParse({ spawner: { docker: { homeDir: "home" } } }).success).toBe(false);
  });

  it("refuses root's uid and gid, saying why", () => {
    const root = configSchema.safeParse({ spawner: { docker: { uid: 0, gid: 0 } } });
    expect(root.error?.issues).toEqual([
      expect.objectContaining({ path: ["spawner", "docker", "uid"], message: "uid must be at least 1 (0 is root's, and servers never run as root)" }),
      expect.objectContaining({ path: ["spawner", "docker", "gid"], message: "gid must be at least 1 (0 is root's, and servers never run as root)" }),
    ]);
    expect(configSchema.safeParse({ spawner: { docker: { uid: 1000.5 } } }).success).toBe(false);
    expect(configSchema.parse({ spawner: { docker: { uid: 4242, gid: 100 } } }).spawner.docker).toMatchObject({ uid: 4242, gid: 100 });
  });
});

it("reads the engine's multiplexed log frames", () => {
  const frame = (stream: number, text: string) => {
    const body = Buffer.from(text);
    const header = Buffer.alloc(8);
    header[0] = stream;
    header.writeUInt32BE(body.length, 4);
    return Buffer.concat([header, body]);
  };
  expect(demuxLogs(Buffer.concat([frame(1, "out\n"), frame(2, "err\n")]))).toBe("out\nerr\n");
});
