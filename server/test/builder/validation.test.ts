import { describe, expect, it, vi } from "vitest";
import {
  checkRef,
  checkRepoAccess,
  checkRepoHost,
  checkRepoUrl,
  nonPublicReason,
  parsePastedRepo,
  parseSpec,
  SpecError,
  type ResolveHost,
} from "../../src/builder/index.js";

const STRICT = { allowHttp: false, allowPrivateHosts: false };

async function refusalOf(fn: () => unknown): Promise<SpecError> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SpecError);
    return err as SpecError;
  }
  throw new Error("expected a refusal");
}

describe("repository URLs (before git sees them)", () => {
  it.each([
    ["file:///etc/passwd", "url_scheme", 'Repository URLs must use https; got "file:///etc/passwd"'],
    ["ssh://git@github.com/owner/repo.git", "url_scheme", 'Repository URLs must use https; got "ssh://***@github.com/owner/repo.git"'],
    ["git://github.com/owner/repo.git", "url_scheme", 'Repository URLs must use https; got "git://github.com/owner/repo.git"'],
    ["http://example.org/repo.git", "url_scheme", 'Repository URLs must use https; got "http://example.org/repo.git"'],
    ["ext::sh -c touch% /tmp/pwned", "url_remote_helper", 'Repository URLs must use https; got "ext::sh -c touch% /tmp/pwned", a git remote helper (it can run commands)'],
    ["fd::17", "url_remote_helper", "a git remote helper"],
    ["git@github.com:owner/repo.git", "url_scheme", "an ssh address"],
    ["--upload-pack=touch /tmp/pwned", "url_option", 'starts with "-", which git would read as an option'],
    ["https://example.org/a repo.git", "url_format", "contains a space or control character"],
    ["https://example.org/", "url_format", "names no repository"],
    ["https://example.org/repo.git?x=1", "url_format", "has a query or fragment"],
    ["https://example.org/-repo", "url_format", 'starts with "-"'],
    ["https://", "url_format", "is not a URL"],
  ])("refuses %j (%s)", async (url, rule, message) => {
    const err = await refusalOf(() => checkRepoUrl(url, STRICT));
    expect(err.rule).toBe(rule);
    expect(err.message).toContain(message);
  });

  it("refuses credentials without repeating them", async () => {
    const err = await refusalOf(() => checkRepoUrl("https://alice:s3cret-token@github.com/owner/repo.git", STRICT));
    expect(err.rule).toBe("url_credentials");
    expect(err.message).toBe(
      'Repository URLs must not contain credentials (user:password@); got "https://***@github.com/owner/repo.git". Only public repositories can be built',
    );
    expect(err.message).not.toContain("s3cret");
    expect(JSON.stringify(err.validations)).not.toContain("s3cret");
    expect((await refusalOf(() => checkRepoUrl("https://token@github.com/o/r", STRICT))).rule).toBe("url_credentials");
  });

  it("allows http only when the site does, and normalises the URL", () => {
    expect(checkRepoUrl("http://127.0.0.1:8080/r.git/", { allowHttp: true }).href).toBe("http://127.0.0.1:8080/r.git");
    expect(checkRepoUrl("https://GitHub.com/Owner/Repo", STRICT).href).toBe("https://github.com/Owner/Repo");
  });

  it("refuses the same inputs arriving through a launch spec or the form", async () => {
    const enc = encodeURIComponent;
    expect((await refusalOf(() => parseSpec("git", `${enc("file:///srv/repo")}/main`))).rule).toBe("url_scheme");
    expect((await refusalOf(() => parseSpec("git", `${enc("ext::sh -c id")}/main`))).rule).toBe("url_remote_helper");
    expect((await refusalOf(() => parseSpec("git", `${enc("https://u:p@example.org/r")}/main`))).rule).toBe("url_credentials");
    expect((await refusalOf(() => parsePastedRepo("ssh://example.org/r.git"))).rule).toBe("url_scheme");
    expect((await refusalOf(() => parseSpec("gh", "owner/repo/--upload-pack=touch%20%2Ftmp%2Fx"))).rule).toBe("ref_option");
  });
});

describe("refs (git check-ref-format)", () => {
  it.each(["main", "HEAD", "feature/x", "v1.0.0", "refs/heads/main", "release-2024_01", "0123456789abcdef0123456789abcdef01234567", "a@b"])(
    "accepts %j",
    (ref) => expect(checkRef(ref)).toBe(ref),
  );

  it("refuses option-like refs", async () => {
    const err = await refusalOf(() => checkRef("--upload-pack=touch /tmp/pwned"));
    expect(err.rule).toBe("ref_option");
    expect(err.field).toBe("ref");
    expect(err.message).toBe(
      'ref "--upload-pack=touch /tmp/pwned" starts with "-", which git would read as an option; refs must not start with "-"',
    );
  });

  it.each([
    ["a..b", 'it contains ".."'],
    ["a@{1}", 'it contains "@{"'],
    ["a b", "space or control character"],
    ["a\u0001b", "space or control character"],
    ["a~1", 'it contains "~"'],
    ["a^", 'it contains "^"'],
    ["a:b", 'it contains ":"'],
    ["a?*[", 'it contains "?", "*", "["'],
    ["a\\b", 'it contains "\\"'],
    ["topic.lock", 'ends with ".lock"'],
    ["topic/", 'starts or ends with "/"'],
    ["/topic", 'starts or ends with "/"'],
    ["a//b", 'contains "//"'],
    ["topic.", 'it ends with "."'],
    [".hidden", 'starts with "."'],
    ["a/.b", 'starts with "."'],
    ["@", 'it is "@"'],
    ["", "it is empty"],
    ["x".repeat(300), "longer than 255"],
  ])("refuses %j", async (ref, problem) => {
    const err = await refusalOf(() => checkRef(ref));
    expect(err.rule).toBe("ref_format");
    expect(err.message).toMatch(/^ref ".*" is not a valid git ref: /);
    expect(err.message).toContain(problem);
    expect(err.message).toContain("(git check-ref-format)");
  });

  it("shows control characters escaped", async () => {
    const err = await refusalOf(() => checkRef("a\nb"));
    expect(err.message).toContain('ref "a\\nb"');
    expect(err.message).not.toContain("\n");
  });
});

describe("non-public addresses", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["127.1.2.3", "loopback"],
    ["10.1.2.3", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.1", "private"],
    ["169.254.169.254", "link-local"],
    ["100.64.0.1", "shared address space (carrier-grade NAT)"],
    ["0.0.0.0", "this network"],
    ["224.0.0.1", "multicast"],
    ["255.255.255.255", "reserved"],
    ["::1", "loopback"],
    ["::", "unspecified"],
    ["fd12:3456::1", "unique local (private)"],
    ["fe80::1", "link-local"],
    ["ff02::1", "multicast"],
    ["2001:db8::1", "documentation"],
    ["::ffff:127.0.0.1", "loopback (IPv4 127.0.0.1 inside IPv6)"],
    ["::ffff:7f00:1", "loopback (IPv4 127.0.0.1 inside IPv6)"],
    ["::ffff:10.0.0.1", "private (IPv4 10.0.0.1 inside IPv6)"],
    ["64:ff9b::a9fe:a9fe", "link-local (IPv4 169.254.169.254 inside IPv6)"],
    ["2002:c0a8:0101::1", "private (IPv4 192.168.1.1 inside IPv6)"],
    ["::127.0.0.1", "loopback (IPv4 127.0.0.1 inside IPv6)"],
    ["not-an-ip", "not an IP address"],
  ])("%s is %s", (address, reason) => {
    expect(nonPublicReason(address)).toBe(reason);
  });

  it.each(["140.82.112.3", "8.8.8.8", "172.32.0.1", "2606:4700:4700::1111", "::ffff:140.82.112.3", "2002:8c52:7003::1"])(
    "%s is public",
    (address) => expect(nonPublicReason(address)).toBeUndefined(),
  );
});

describe("repository hosts", () => {
  const resolver = (table: Record<string, string[]>): ResolveHost =>
    vi.fn(async (host: string) => {
      const addresses = table[host];
      if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
      return addresses;
    });
  const hosts = resolver({
    "github.com": ["140.82.112.3"],
    "internal.example.org": ["10.0.0.7"],
    "mixed.example.org": ["140.82.112.3", "fd00::5"],
    "metadata.example.org": ["::ffff:169.254.169.254"],
    "localhost": ["127.0.0.1", "::1"],
  });
  const check = (url: string, allowPrivateHosts = false) =>
    checkRepoHost(new URL(url), { allowPrivateHosts, resolveHost: hosts });

  it("lets public hosts through", async () => {
    await expect(check("https://github.com/owner/repo")).resolves.toBeUndefined();
    await expect(check("https://140.82.112.3/owner/repo")).resolves.toBeUndefined();
  });

  it.each([
    ["https://internal.example.org/r.git", "Repository host internal.example.org resolves to 10.0.0.7, which is not a public address (private); this site only builds from public hosts"],
    ["https://mixed.example.org/r.git", "resolves to fd00::5, which is not a public address (unique local (private))"],
    ["https://metadata.example.org/r.git", "resolves to ::ffff:169.254.169.254, which is not a public address (link-local (IPv4 169.254.169.254 inside IPv6))"],
    ["https://localhost/r.git", "resolves to 127.0.0.1, which is not a public address (loopback)"],
    ["https://127.0.0.1/r.git", "Repository host 127.0.0.1 is not a public address (loopback)"],
    ["https://2130706433/r.git", "Repository host 127.0.0.1 is not a public address (loopback)"],
    ["https://0x7f.1/r.git", "Repository host 127.0.0.1 is not a public address (loopback)"],
    ["https://[::1]/r.git", "Repository host ::1 is not a public address (loopback)"],
    ["https://[::ffff:169.254.169.254]/r.git", "Repository host ::ffff:a9fe:a9fe is not a public address (link-local"],
  ])("refuses %s", async (url, message) => {
    const err = await refusalOf(() => check(url));
    expect(err.rule).toBe("private_host");
    expect(err.message).toContain(message);
  });

  it("says when a host does not resolve", async () => {
    const err = await refusalOf(() => check("https://nowhere.invalid/r.git"));
    expect(err.rule).toBe("host_unresolved");
    expect(err.message).toBe("Repository host nowhere.invalid could not be resolved (ENOTFOUND)");
  });

  it("skips the check (and DNS) where the site allows private hosts", async () => {
    const lookup = vi.fn(async () => ["10.0.0.1"]);
    await checkRepoHost(new URL("https://internal.example.org/r.git"), { allowPrivateHosts: true, resolveHost: lookup });
    expect(lookup).not.toHaveBeenCalled();
  });

  it("checkRepoAccess runs every rule on a RepoSpec", async () => {
    const spec = parseSpec("git", `${encodeURIComponent("https://internal.example.org/r.git")}/main`);
    const err = await refusalOf(() => checkRepoAccess(spec, { rules: STRICT, resolveHost: hosts }));
    expect(err.rule).toBe("private_host");
    await expect(checkRepoAccess(parseSpec("gh", "owner/repo/main"), { rules: STRICT, resolveHost: hosts })).resolves.toBeUndefined();
    const forged = { repoUrl: "file:///etc", ref: "main" };
    expect((await refusalOf(() => checkRepoAccess(forged, { rules: STRICT, resolveHost: hosts }))).rule).toBe("url_scheme");
  });
});
