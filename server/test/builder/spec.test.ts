import { describe, expect, it } from "vitest";
import {
  badgeMarkdown,
  formTarget,
  launchPath,
  launchUrl,
  parsePastedRepo,
  parseSpec,
  parseSpecPath,
  specFor,
  SpecError,
  type RepoSpec,
} from "../../src/builder/index.js";
import { InputError } from "../../src/errors.js";

const HTTP_OK = { allowHttp: true, allowPrivateHosts: false };

function refusal(fn: () => unknown): SpecError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SpecError);
    expect(err).toBeInstanceOf(InputError);
    return err as SpecError;
  }
  throw new Error("expected a refusal");
}

describe("launch specs", () => {
  it("parses GitHub specs", () => {
    expect(parseSpecPath("gh/binder-examples/requirements/main")).toEqual<RepoSpec>({
      provider: "gh",
      repoUrl: "https://github.com/binder-examples/requirements",
      ref: "main",
      slug: "github.com/binder-examples/requirements",
      displayName: "binder-examples/requirements",
      spec: "gh/binder-examples/requirements/main",
    });
  });

  it("defaults a missing ref to HEAD", () => {
    expect(parseSpec("gh", "owner/repo").ref).toBe("HEAD");
    expect(parseSpec("gh", "owner/repo/").ref).toBe("HEAD");
    expect(parseSpec("gl", "group%2Frepo").ref).toBe("HEAD");
    expect(parseSpec("gist", "alice/0123abcd").ref).toBe("HEAD");
    expect(parseSpec("git", "https%3A%2F%2Fexample.org%2Frepo.git").ref).toBe("HEAD");
  });

  it("keeps slashes in GitHub refs, raw or escaped, and strips .git", () => {
    expect(parseSpec("gh", "owner/repo/feature/x").ref).toBe("feature/x");
    const spec = parseSpec("gh", "Owner/Repo.git/feature%2Fx");
    expect(spec).toMatchObject({ ref: "feature/x", slug: "github.com/owner/repo", displayName: "Owner/Repo" });
    expect(spec.spec).toBe("gh/Owner/Repo/feature%2Fx");
  });

  it("parses GitLab specs with nested groups", () => {
    expect(parseSpecPath("gl/group%2Fsub%2Frepo/v1.0")).toEqual<RepoSpec>({
      provider: "gl",
      repoUrl: "https://gitlab.com/group/sub/repo.git",
      ref: "v1.0",
      slug: "gitlab.com/group/sub/repo",
      displayName: "group/sub/repo",
      spec: "gl/group%2Fsub%2Frepo/v1.0",
    });
  });

  it("parses Gist specs", () => {
    expect(parseSpecPath("gist/alice/8f4c3a2b1e0d/0123456789abcdef0123456789abcdef01234567")).toMatchObject({
      provider: "gist",
      repoUrl: "https://gist.github.com/alice/8f4c3a2b1e0d.git",
      ref: "0123456789abcdef0123456789abcdef01234567",
      slug: "gist.github.com/8f4c3a2b1e0d",
      displayName: "alice/8f4c3a2b1e0d",
    });
  });

  it("parses git specs with a url-escaped URL", () => {
    expect(parseSpecPath("git/https%3A%2F%2FGit.Example.org%2Fteam%2Frepo.git/release%2F2")).toEqual<RepoSpec>({
      provider: "git",
      repoUrl: "https://git.example.org/team/repo.git",
      ref: "release/2",
      slug: "git.example.org/team/repo",
      displayName: "git.example.org/team/repo",
      spec: "git/https%3A%2F%2Fgit.example.org%2Fteam%2Frepo.git/release%2F2",
    });
  });

  it("uses the site's own hosts for gh and gl", () => {
    const rules = { ...HTTP_OK, hosts: { github: "github.example.org" } };
    expect(parseSpec("gh", "o/r/main", rules).repoUrl).toBe("https://github.example.org/o/r");
  });

  it.each([
    ["nope/owner/repo/main", /unknown repository provider "nope"; this site supports git, gh, gl, gist/],
    ["gh/owner", /GitHub specs look like gh\/<owner>\/<repo>\/<ref>/],
    ["gh/-owner/repo/main", /GitHub specs look like/],
    ["gh/owner/../main", /GitHub specs look like/],
    ["gl/repo/main", /url-escaped \(group%2Frepo\)/],
    ["gist/alice/not-hex", /hexadecimal gist id/],
    ["git/https:/example.org/repo.git/main", /the URL url-escaped/],
    ["gh/owner/repo/%E0%A4%A", /not valid percent-encoding/],
    ["gh", /a launch spec looks like/],
  ])("refuses %j", (path, message) => {
    const err = refusal(() => parseSpecPath(path));
    expect(err.rule).toBe("spec_format");
    expect(err.message).toMatch(message);
  });

  it("builds specs that parse back to the same repository", () => {
    expect(specFor("gh", "owner/repo", "feature/x")).toBe("gh/owner/repo/feature%2Fx");
    expect(specFor("gl", "group/sub/repo")).toBe("gl/group%2Fsub%2Frepo/HEAD");
    expect(specFor("gist", "alice/abc123", "HEAD")).toBe("gist/alice/abc123/HEAD");
    expect(specFor("git", "https://example.org/r.git", "v1")).toBe("git/https%3A%2F%2Fexample.org%2Fr.git/v1");
    for (const spec of ["gh/owner/repo/feature%2Fx", "gl/group%2Fsub%2Frepo/HEAD", "git/https%3A%2F%2Fexample.org%2Fr.git/v1"]) {
      expect(parseSpecPath(spec).spec).toBe(spec);
    }
    expect(() => specFor("git", "ssh://example.org/r.git")).toThrow(SpecError);
  });
});

describe("launch links and badges", () => {
  const spec = parseSpec("gh", "owner/repo/main");
  it("lands where the Binder form says: its path field first, else the pasted link's file or folder", () => {
    expect(formTarget("notebooks/intro.ipynb", {})).toEqual({ labpath: "notebooks/intro.ipynb" });
    expect(formTarget("/voila/render/a.ipynb", { filepath: "b.ipynb" })).toEqual({ urlpath: "voila/render/a.ipynb" });
    expect(formTarget("  ", { filepath: "b.ipynb" })).toEqual({ labpath: "b.ipynb" });
    expect(formTarget(undefined, { urlpath: "docs" })).toEqual({ urlpath: "lab/tree/docs" });
    expect(formTarget(undefined, {})).toEqual({});
  });
  it("builds BinderHub-style launch URLs", () => {
    expect(launchPath(spec)).toBe("/v2/gh/owner/repo/main");
    expect(launchPath(spec, { urlpath: "lab/tree/index.ipynb" })).toBe("/v2/gh/owner/repo/main?urlpath=lab%2Ftree%2Findex.ipynb");
    expect(launchUrl("https://hub.example.org/", spec, { labpath: "a b.ipynb" })).toBe(
      "https://hub.example.org/v2/gh/owner/repo/main?labpath=a+b.ipynb",
    );
  });
  it("writes badge markdown", () => {
    expect(badgeMarkdown("https://hub.example.org/v2/gh/owner/repo/main", "https://hub.example.org/badge.svg")).toBe(
      "[![Binder](https://hub.example.org/badge.svg)](https://hub.example.org/v2/gh/owner/repo/main)",
    );
  });
});

describe("pasted repository URLs", () => {
  it.each([
    ["https://github.com/owner/repo", undefined, "gh/owner/repo/HEAD", {}],
    ["https://github.com/owner/repo.git", "dev", "gh/owner/repo/dev", {}],
    ["  owner/repo  ", "v2", "gh/owner/repo/v2", {}],
    ["https://github.com/owner/repo/tree/main/notebooks", undefined, "gh/owner/repo/main", { urlpath: "notebooks" }],
    ["https://github.com/owner/repo/blob/v1/a/index.ipynb", "ignored", "gh/owner/repo/v1", { filepath: "a/index.ipynb" }],
    ["https://gitlab.com/group/sub/repo.git", undefined, "gl/group%2Fsub%2Frepo/HEAD", {}],
    ["https://gitlab.com/group/sub/repo/-/tree/dev/docs", undefined, "gl/group%2Fsub%2Frepo/dev", { urlpath: "docs" }],
    ["https://gist.github.com/alice/8f4c3a2b", undefined, "gist/alice/8f4c3a2b/HEAD", {}],
    ["https://codeberg.org/team/repo.git", "main", "git/https%3A%2F%2Fcodeberg.org%2Fteam%2Frepo.git/main", {}],
  ])("%j (ref %j) → %s", (text, ref, spec, target) => {
    const pasted = parsePastedRepo(text, ref);
    expect(pasted.spec.spec).toBe(spec);
    expect({ filepath: pasted.filepath, urlpath: pasted.urlpath }).toEqual({ filepath: undefined, urlpath: undefined, ...target });
  });

  it("takes http URLs only where the site allows them", () => {
    expect(refusal(() => parsePastedRepo("http://127.0.0.1:8080/repo.git")).rule).toBe("url_scheme");
    expect(parsePastedRepo("http://127.0.0.1:8080/repo.git", "main", HTTP_OK).spec.repoUrl).toBe("http://127.0.0.1:8080/repo.git");
  });

  it.each([
    ["git@github.com:owner/repo.git", "url_scheme", /Repository URLs must use https; got "git@github.com:owner\/repo.git", an ssh address/],
    ["https://github.com/owner/repo/issues", "url_format", /is a GitHub page, not a repository/],
    ["not a url", "url_format", /is not a repository URL/],
    ["", "spec_format", /paste a repository URL/],
  ])("refuses %j", (text, rule, message) => {
    const err = refusal(() => parsePastedRepo(text));
    expect(err.rule).toBe(rule);
    expect(err.message).toMatch(message);
  });
});
