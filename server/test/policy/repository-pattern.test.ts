import { describe, expect, it } from "vitest";
import { matchesRepositoryPattern, repositoryIdentity, repositoryPatternProblem } from "../../src/policy/index.js";

describe("repository patterns", () => {
  it.each([
    ["github.com/jupyter/*", "github.com/jupyter/notebook", true],
    ["github.com/jupyter/*", "github.com/jupyter", false],
    ["github.com/jupyter/*", "github.com/jupyter/a/b", false],
    ["github.com/jupyter/*", "github.com/jupyterlab/lab", false],
    ["github.com/jupyter/note*", "github.com/jupyter/notebook", true],
    ["github.com/jupyter/*book", "github.com/jupyter/notebook", true],
    ["github.com/jupyter/n*t*k", "github.com/jupyter/notebook", true],
    ["github.com/jupyter/n*t*x", "github.com/jupyter/notebook", false],
    ["github.com/evil/repo", "github.com/evil/repo", true],
    ["github.com/evil/repo", "github.com/evil/repo2", false],
    ["github.com/evil/repo", "github.com/evil", false],
    ["gitlab.com/group/**", "gitlab.com/group/project", true],
    ["gitlab.com/group/**", "gitlab.com/group/sub/deeper/project", true],
    ["gitlab.com/group/**", "gitlab.com/group", true], // ** is zero or more segments
    ["gitlab.com/group/**", "gitlab.com/groupie/project", false],
    ["gitlab.com/**/project", "gitlab.com/project", true],
    ["gitlab.com/**/project", "gitlab.com/a/b/project", true],
    ["gitlab.com/**/project", "gitlab.com/a/b/project/x", false],
    ["gitlab.com/**/tools/**", "gitlab.com/a/tools/b/c", true],
    ["*.example.org/**", "git.example.org/team/repo", true],
    ["*.example.org/**", "example.org/team/repo", false],
    ["git.example.org:8443/team/*", "git.example.org:8443/team/repo", true],
    ["git.example.org:8443/team/*", "git.example.org/team/repo", false],
    // a dot is a dot, not "any character"
    ["github.com/a.b/*", "github.com/axb/repo", false],
  ])("%s against %s: %s", (pattern, identity, expected) => {
    expect(repositoryPatternProblem(pattern)).toBeUndefined();
    expect(matchesRepositoryPattern(pattern, identity)).toBe(expected);
  });

  it("ignores case in the host and the path", () => {
    expect(matchesRepositoryPattern("github.com/evil/*", "GitHub.COM/Evil/Repo")).toBe(true);
    expect(matchesRepositoryPattern("GITHUB.com/Jupyter/*", "github.com/jupyter/notebook")).toBe(true);
  });

  it("stays fast on hostile input", () => {
    const pattern = `github.com/${"*a".repeat(20)}b/**/${"*a".repeat(20)}b`;
    const identity = `github.com/${"a".repeat(2000)}/${"x/".repeat(200)}${"a".repeat(2000)}`;
    const started = performance.now();
    expect(matchesRepositoryPattern(pattern, identity)).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it.each([
    ["", "must not be empty"],
    ["  ", "must not be empty"],
    ["https://github.com/org/*", '"https://github.com/org/*" has a scheme; write host/path without it (e.g. github.com/org/* or gitlab.com/group/**)'],
    ["github.com/my org/*", '"github.com/my org/*" contains a space or control character'],
    ["git@github.com:org/repo", '"git@github.com:org/repo" contains "@"; write host/path (e.g. github.com/org/* or gitlab.com/group/**), not user@host:path'],
    ["github.com:org/repo", '"github.com:org/repo" contains ":" outside a host:port; write host/path (e.g. github.com/org/* or gitlab.com/group/**), not host:path'],
    ["github.com/org/rep?", '"github.com/org/rep?" uses a wildcard other than * and **, the only ones there are'],
    ["github.com/org/[ab]", '"github.com/org/[ab]" uses a wildcard other than * and **, the only ones there are'],
    ["github.com/org/", '"github.com/org/" has an empty path segment (a leading, trailing or double "/")'],
    ["github.com//org", '"github.com//org" has an empty path segment (a leading, trailing or double "/")'],
    ["/org/repo", '"/org/repo" has an empty path segment (a leading, trailing or double "/")'],
    ["github.com/../repo", '"github.com/../repo" has a "." or ".." segment'],
    ["github.com/org**", '"github.com/org**": ** must be a whole path segment (a/**/b); use * within a segment'],
    ["**/repo", '"**/repo" starts with **; it must start with a host (e.g. github.com/org/* or gitlab.com/group/**)'],
    ["github.com", '"github.com" names only a host; write github.com/** for every repository on it'],
    ["github.com/org/repo.git", '"github.com/org/repo.git" ends with .git; identities have no .git, write github.com/org/repo'],
  ])("refuses the pattern %j", (pattern, problem) => {
    expect(repositoryPatternProblem(pattern)).toBe(problem);
  });
});

describe("repositoryIdentity", () => {
  it.each([
    ["github.com/org/repo", "github.com/org/repo"],
    ["https://GitHub.com/Org/Repo.git", "github.com/Org/Repo"],
    ["https://github.com/org/repo/", "github.com/org/repo"],
    ["http://git.example.org:8080/team/sub/repo.git/", "git.example.org:8080/team/sub/repo"],
    ["GITHUB.COM/org/repo.GIT", "github.com/org/repo"],
    ["github.com//org/./repo", "github.com/org/repo"],
    ["https://github.com/evil/%72epo", "github.com/evil/repo"], // the server decodes it, so does the deny list
  ])("%s → %s", (input, identity) => {
    expect(repositoryIdentity(input)).toBe(identity);
  });

  it.each([
    "",
    "github.com",
    "https://github.com/",
    "github.com/org/../other",
    "https://user:secret@github.com/org/repo",
    "git@github.com:org/repo",
    "github.com/org%2Frepo/x", // an escaped "/" would slip a segment past the patterns
    "github.com/my repo/x",
    "github.com/org/%E0%A4%A",
    "https://github.com/org/repo?x=1",
    "file:///etc/passwd",
    "ssh://git@github.com/org/repo",
    "git://github.com/org/repo",
  ])("refuses %j", (input) => {
    expect(repositoryIdentity(input)).toBeUndefined();
  });
});
