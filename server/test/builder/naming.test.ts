import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  binderServerName,
  imageName,
  imagePrefixProblems,
  imageRepository,
  imageRepositoryProblems,
  parseSpec,
} from "../../src/builder/index.js";
import { serverNameSafetyProblems } from "../../src/policy/index.js";

const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const hash8 = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 8);
const OCI_NAME = /^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;

describe("image names", () => {
  const gh = parseSpec("gh", "Binder-Examples/Requirements/main");

  it("is <prefix><escaped slug>-<hash>:<commit>", () => {
    expect(imageName("registry.example.org/binder/", gh, COMMIT)).toBe(
      `registry.example.org/binder/github-com-binder-examples-requirements-${hash8("github.com/binder-examples/requirements")}:${COMMIT}`,
    );
    expect(imageName("ganymede-", gh, COMMIT)).toMatch(/^ganymede-github-com-binder-examples-requirements-[0-9a-f]{8}:[0-9a-f]{40}$/);
    expect(imageName("localhost:5000/", gh, COMMIT)).toMatch(/^localhost:5000\/github-com-/);
  });

  it("gives the same repository the same image whatever the spelling on GitHub", () => {
    expect(imageRepository("p/", parseSpec("gh", "owner/repo"))).toBe(imageRepository("p/", parseSpec("gh", "Owner/Repo.git/dev")));
  });

  it("keeps names apart that escaping would merge", () => {
    const a = parseSpec("git", `${encodeURIComponent("https://example.org/Team/Repo")}/main`);
    const b = parseSpec("git", `${encodeURIComponent("https://example.org/team/repo")}/main`);
    const c = parseSpec("git", `${encodeURIComponent("https://example.org/team_repo")}/main`);
    const names = new Set([a, b, c].map((s) => imageRepository("p/", s)));
    expect(names.size).toBe(3);
  });

  it("shortens long names, keeping them valid and unique", () => {
    const long = (tail: string) => parseSpec("gl", `${encodeURIComponent(`${"group/".repeat(60)}${tail}`)}/main`);
    const prefix = `registry.example.org/${"x".repeat(100)}/`;
    const [a, b] = [imageName(prefix, long("one"), COMMIT), imageName(prefix, long("two"), COMMIT)];
    for (const name of [a, b]) {
      const repository = name.slice(0, name.lastIndexOf(":"));
      expect(repository.length).toBeLessThanOrEqual(255);
      expect(repository).toMatch(OCI_NAME);
      expect(imageRepositoryProblems(repository)).toEqual([]);
    }
    expect(a).not.toBe(b);
  });

  it("is valid for awkward slugs", () => {
    for (const url of ["https://example.org/_x_", "https://example.org/_/.a..b.", "https://example.org/ÄÖÜ/ß"]) {
      const repository = imageRepository("", parseSpec("git", `${encodeURIComponent(url)}/main`));
      expect(repository).toMatch(OCI_NAME);
    }
  });

  it("refuses bad prefixes and tags that are not commits", () => {
    expect(imagePrefixProblems("Registry/Binder/")).toEqual([
      '"Registry", "Binder" must be lowercase letters and digits, single ".", "_" or "-" between them',
    ]);
    expect(imagePrefixProblems("registry.example.org:5000/binder/")).toEqual([]);
    expect(imagePrefixProblems("bad host:x/")).toHaveLength(1);
    expect(() => imageName("Bad/", gh, COMMIT)).toThrow(/image prefix "Bad\/" gives an invalid image name/);
    expect(() => imageName("p/", gh, "main")).toThrow(/full commit ids/);
  });
});

describe("Binder server names", () => {
  const requirements = parseSpec("gh", "binder-examples/requirements");
  const ok = (name: string, max = 20) => {
    expect(name.length).toBeLessThanOrEqual(max);
    expect(serverNameSafetyProblems(name)).toEqual([]);
  };

  it("is binder-<repo> when free", () => {
    expect(binderServerName(requirements, [])).toBe("binder-requirements");
    expect(binderServerName(parseSpec("gh", "o/r"), ["work"])).toBe("binder-r");
  });

  it("shortens and adds a hash when taken, staying unique", () => {
    const taken = ["binder-requirements"];
    const second = binderServerName(requirements, taken);
    ok(second);
    expect(second).toMatch(/^binder-requirem-[0-9a-f]{4}$/);
    const third = binderServerName(requirements, [...taken, second]);
    ok(third);
    expect(third).not.toBe(second);
  });

  it.each([
    ["gh", "owner/My_Very.Long--Repository.Name"],
    ["gh", "owner/123"],
    ["gh", "owner/___"],
    ["gl", "Group%2FMy.Repo_"],
    ["git", encodeURIComponent("https://example.org/ÄÖ.git")],
  ])("fits the server-name rules for %s %s", (provider, repo) => {
    const spec = parseSpec(provider, `${repo}/main`);
    ok(binderServerName(spec, []));
    ok(binderServerName(spec, [binderServerName(spec, [])]));
  });

  it("respects the policy's length limit", () => {
    ok(binderServerName(requirements, [], 10), 10);
    ok(binderServerName(requirements, ["binder-req"], 10), 10);
    ok(binderServerName(requirements, [], 5), 5);
    expect(binderServerName(requirements, [], 63)).toBe("binder-requirements");
  });
});
