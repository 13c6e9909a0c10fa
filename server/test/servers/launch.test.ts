/** The launch specification (servers/launch.ts): JupyterHub's and BinderHub's environment, a Binder image and folder. */
import { describe, expect, it } from "vitest";
import { resolveLaunch } from "../../src/servers/launch.js";

const limits = { cpu: 1, memoryBytes: 2e9, storageBytes: 2 ** 31 };
const base = { user: "alice", serverName: "", baseUrl: "/user/alice/", limits, publicUrl: "https://hub.example.org/" };

describe("resolveLaunch", () => {
  it("gives every server JupyterHub's variables, the policy's limits and the options as requested", () => {
    expect(resolveLaunch({ ...base, userOptions: { profile: "gpu" } })).toEqual({
      limits,
      env: { JUPYTERHUB_USER: "alice", JUPYTERHUB_SERVER_NAME: "", JUPYTERHUB_SERVICE_PREFIX: "/user/alice/" },
      userOptions: { profile: "gpu" },
    });
  });

  it("runs a Binder launch's image (pulled only when missing: its tag is its commit) with storage in its work folder, and says where it came from as BinderHub does", () => {
    const origin = { spec: "gh/jupyterhub/binder-example/main", repoUrl: "https://github.com/jupyterhub/binder-example", commit: "0123abc", image: "registry/b:0123abc" };
    const launch = resolveLaunch({ ...base, serverName: "binder-example", baseUrl: "/user/alice/binder-example/", userOptions: { binder: origin }, origin });
    expect(launch).toMatchObject({ image: "registry/b:0123abc", imagePullPolicy: "IfNotPresent", storageDir: "/home/jovyan/work" });
    expect(launch.env).toMatchObject({
      BINDER_REPO_URL: "https://github.com/jupyterhub/binder-example",
      BINDER_REQUEST: "v2/gh/jupyterhub/binder-example/main",
      BINDER_PERSISTENT_REQUEST: "v2/gh/jupyterhub/binder-example/0123abc",
      BINDER_REF_URL: "https://github.com/jupyterhub/binder-example/tree/0123abc",
      BINDER_LAUNCH_HOST: "https://hub.example.org/",
    });
    const git = resolveLaunch({ ...base, userOptions: {}, origin: { ...origin, spec: "git/https%3A%2F%2Fexample.org%2Fr.git/main", repoUrl: "https://example.org/r.git" } });
    expect(git.env).toMatchObject({ BINDER_PERSISTENT_REQUEST: "v2/git/https%3A%2F%2Fexample.org%2Fr.git/0123abc", BINDER_REF_URL: "https://example.org/r.git" });
  });
});
