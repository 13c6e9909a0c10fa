import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveRef, pickCommit, SpecError, parsePastedRepo } from "../../src/builder/index.js";
import { UnavailableError } from "../../src/errors.js";
import { startGitServer, type GitServer } from "../support/git-server.js";
import { freePort } from "../support/service-process.js";

// The git server listens on 127.0.0.1 over http: both need the site's permission.
const LOCAL = { rules: { allowHttp: true, allowPrivateHosts: true } };

let git: GitServer;
let demo: { url: string; commit: string };
let feature: string;
let annotated: string;
let second: string;

beforeAll(async () => {
  git = await startGitServer();
  demo = await git.createRepo("demo", { "requirements.txt": "six\n", "index.ipynb": "{}\n" });
  feature = await git.commit("demo", { "feature.txt": "x\n" }, { branch: "feature/x" });
  annotated = await git.tag("demo", "v1.0", { message: "release 1.0" });
  second = await git.commit("demo", { "index.ipynb": null, "README.md": "# demo\n" });
  await git.tag("demo", "light", { target: demo.commit });
});

afterAll(async () => {
  await git?.close();
});

const target = (ref: string, repoUrl = demo.url) => ({ repoUrl, ref, displayName: "demo" });

async function refusal(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a refusal");
}

describe("resolveRef against a real git server", () => {
  it("resolves HEAD, branches and tags to commits", async () => {
    expect(await resolveRef(target("HEAD"), LOCAL)).toBe(second);
    expect(await resolveRef(target("main"), LOCAL)).toBe(second);
    expect(await resolveRef(target("refs/heads/main"), LOCAL)).toBe(second);
    expect(await resolveRef(target("feature/x"), LOCAL)).toBe(feature);
    expect(feature).not.toBe(second);
  });

  it("peels annotated tags to the commit they tag", async () => {
    expect(await resolveRef(target("v1.0"), LOCAL)).toBe(annotated);
    expect(await resolveRef(target("refs/tags/v1.0"), LOCAL)).toBe(annotated);
    expect(await resolveRef(target("light"), LOCAL)).toBe(demo.commit);
  });

  it("works on a pasted http URL where the site allows it", async () => {
    const { spec } = parsePastedRepo(demo.url, "main", { allowHttp: true, allowPrivateHosts: true });
    expect(await resolveRef(spec, LOCAL)).toBe(second);
  });

  it("says which ref is missing from which repository", async () => {
    const err = await refusal(resolveRef(target("nope"), LOCAL));
    expect(err).toBeInstanceOf(SpecError);
    expect(err).toMatchObject({ rule: "ref_not_found", field: "ref", message: "ref 'nope' not found in demo" });
  });

  it("does not match a ref by its last part only", async () => {
    // ls-remote's pattern "x" also lists refs/heads/feature/x; git itself would not take that for "x".
    const err = await refusal(resolveRef(target("x"), LOCAL));
    expect(err).toMatchObject({ rule: "ref_not_found" });
  });

  it("refuses a repository that does not exist", async () => {
    const err = await refusal(resolveRef(target("main", git.urlOf("missing")), LOCAL));
    expect(err).toMatchObject({ rule: "repo_unreadable" });
    expect(err.message).toMatch(/^could not read demo: .*not found.* \(it may not exist, or not be public\)$/);
  });

  it("takes a commit id as it is, without asking the server", async () => {
    const before = git.requests();
    expect(await resolveRef(target(demo.commit), LOCAL)).toBe(demo.commit);
    expect(git.requests()).toBe(before);
  });

  it("checks the URL, ref and host before running git", async () => {
    const before = git.requests();
    const noHttp = await refusal(resolveRef(target("main"), { rules: { allowHttp: false, allowPrivateHosts: true } }));
    expect(noHttp).toMatchObject({ rule: "url_scheme" });
    const privateHost = await refusal(resolveRef(target("main"), { rules: { allowHttp: true, allowPrivateHosts: false } }));
    expect(privateHost).toMatchObject({ rule: "private_host" });
    const option = await refusal(resolveRef(target("--upload-pack=touch /tmp/pwned"), LOCAL));
    expect(option).toMatchObject({ rule: "ref_option" });
    expect(git.requests()).toBe(before);
  });

  it("reports an unreachable server as unavailable, not as bad input", async () => {
    const port = await freePort();
    const err = await refusal(resolveRef(target("main", `http://127.0.0.1:${port}/demo.git`), LOCAL));
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.message).toMatch(/^could not reach demo: /);
  });

  it("gives up after its timeout", async () => {
    const silent = net.createServer(() => {}); // accepts and never answers
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const started = Date.now();
      const err = await refusal(resolveRef(target("main", `http://127.0.0.1:${port}/demo.git`), { ...LOCAL, timeoutMs: 1000 }));
      expect(err).toBeInstanceOf(UnavailableError);
      expect(err.message).toBe("git ls-remote of demo timed out after 1 s");
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      silent.close();
    }
  });
});

describe("pickCommit", () => {
  const listing = [
    "1111111111111111111111111111111111111111\trefs/heads/feature/v1",
    "2222222222222222222222222222222222222222\trefs/heads/v1",
    "3333333333333333333333333333333333333333\trefs/tags/v1",
    "4444444444444444444444444444444444444444\trefs/tags/v1^{}",
  ].join("\n");
  it("prefers tags (peeled) over branches, as git does, and never a longer path", () => {
    expect(pickCommit(listing, "v1")).toBe("4444444444444444444444444444444444444444");
    expect(pickCommit(listing, "refs/heads/v1")).toBe("2222222222222222222222222222222222222222");
    expect(pickCommit(listing.split("\n").slice(0, 2).join("\n"), "v1")).toBe("2222222222222222222222222222222222222222");
    expect(pickCommit(listing.split("\n")[0]!, "v1")).toBeUndefined();
  });
});
