/**
 * Sign-in against a real OpenLDAP (test/support/slapd.ts, fixture test/fixtures/directory.ldif) through the real
 * /hub/login form: names normalised (case, UPN, DOMAIN\name), groups synced from memberOf or a group search, the
 * allowed/admin group rules, a group policy reaching the server limits, LDAPS with a private CA, filter injection,
 * empty passwords, and a directory that is down (503, not "wrong password").
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LdapAuthenticator } from "../../src/auth/ldap-authenticator.js";
import { escapeDnValue, escapeFilterValue, groupNameFromDn, normaliseLogin } from "../../src/auth/ldap-names.js";
import { configSchema, type HubConfigInput } from "../../src/config/schema.js";
import { createLogger } from "../../src/lib/logger.js";
import { readEvents, startTestHub, type TestHub, signInThroughForm, loginError } from "../support/hub.js";
import { freePort } from "../support/service-process.js";
import { startSlapd, type SlapdServer } from "../support/slapd.js";

const RESEARCH = `name: research
description: more memory for the research group
appliesTo: { groups: [research] }
limits:
  memory: 4GB
`;

let slapd: SlapdServer;
let secrets: string;
let hub: TestHub;

type LdapInput = NonNullable<NonNullable<HubConfigInput["auth"]>["ldap"]>;

/** The service-account setup against the fixture directory, groups from memberOf. */
function ldapConfig(overrides: Partial<LdapInput> = {}): LdapInput {
  return {
    url: slapd.url,
    bindDn: slapd.bindDn,
    bindPasswordFile: path.join(secrets, "bind-password"),
    searchBase: `ou=people,${slapd.baseDn}`,
    searchFilter: "(uid={{username}})",
    connectTimeout: "2s",
    timeout: "3s",
    ...overrides,
  };
}

function authenticator(overrides: Partial<LdapInput> = {}): LdapAuthenticator {
  const config = configSchema.parse({ auth: { backend: "ldap", ldap: ldapConfig(overrides) } });
  return new LdapAuthenticator(config.auth.ldap!, createLogger("silent"));
}

beforeAll(async () => {
  slapd = await startSlapd();
  secrets = mkdtempSync(path.join(tmpdir(), "ganymede-ldap-secrets-"));
  writeFileSync(path.join(secrets, "bind-password"), `${slapd.bindPassword}\n`, { mode: 0o600 });
  hub = await startTestHub({
    policies: { "research.yaml": RESEARCH },
    config: { auth: { backend: "ldap", ldap: ldapConfig(), allowedGroups: ["staff"], adminGroups: ["ops"] } },
  });
});

afterAll(async () => {
  await hub?.close();
  await slapd?.stop();
  if (secrets) rmSync(secrets, { recursive: true, force: true });
});

/** Signs in through the real form; the status and the hub's sentence when refused. */
async function signIn(t: TestHub, username: string, password: string): Promise<{ status: number; text: string }> {
  const res = await signInThroughForm(t.url, username, password);
  return { status: res.status, text: loginError(res) ?? "" };
}

describe("name and filter helpers", () => {
  it("normalise logins and escape filter and DN values", () => {
    for (const typed of ["alice", " ALICE ", "alice@ad.example.org", "EXAMPLE\\alice", "example.org\\Alice@x"]) {
      expect(normaliseLogin(typed, true)).toBe("alice");
    }
    expect(normaliseLogin("Alice@example.org", false)).toBe("alice@example.org");
    expect(escapeFilterValue("*)(uid=*")).toBe("\\2a\\29\\28uid=\\2a");
    expect(escapeFilterValue("a\\b\0")).toBe("a\\5cb\\00");
    expect(escapeDnValue("a,b=c+d")).toBe("a\\,b\\=c\\+d");
    expect(escapeDnValue("#x ")).toBe("\\#x\\ ");
  });

  it("take a group's name from the first RDN of its DN", () => {
    expect(groupNameFromDn("cn=staff,ou=groups,dc=example,dc=org")).toBe("staff");
    expect(groupNameFromDn("CN=Data Science,OU=Groups,DC=ad,DC=example,DC=org")).toBe("Data Science");
    expect(groupNameFromDn("CN=Smith\\, J.,CN=Users,DC=x")).toBe("Smith, J.");
    expect(groupNameFromDn("CN=caf\\c3\\a9,DC=x")).toBe("café");
    expect(groupNameFromDn("not a dn")).toBeUndefined();
  });
});

describe("signing in with LDAP", () => {
  it("signs alice in and stores her directory groups", async () => {
    expect((await signIn(hub, "alice", "alice-secret")).status).toBe(303);
    const alice = (await hub.api("GET", "users/alice")).body;
    expect([...alice.groups].sort()).toEqual(["research", "staff"]);
    expect(alice.admin).toBe(false);
  });

  it("maps ALICE, a UPN and DOMAIN\\alice to the hub user alice", async () => {
    for (const typed of ["ALICE", "alice@example.org", "EXAMPLE\\alice"]) {
      expect((await signIn(hub, typed, "alice-secret")).status, typed).toBe(303);
    }
    const names = (await hub.api("GET", "users")).body.map((u: { name: string }) => u.name);
    expect(names.filter((n: string) => n.includes("alice"))).toEqual(["alice"]);
  });

  it("refuses a wrong password, an unknown user, an empty password and filter injection alike", async () => {
    const attempts: [string, string][] = [
      ["alice", "wrong-password"],
      ["nobody", "alice-secret"],
      ["alice", ""],
      ["*)(uid=*", "alice-secret"],
      ["alice)(|(uid=*", "alice-secret"],
      ["*", "alice-secret"],
    ];
    for (const [user, password] of attempts) {
      const res = await signIn(hub, user, password);
      expect(res.status, user).toBe(403);
      expect(res.text).toContain("Invalid username or password.");
    }
  });

  it("never authenticates an empty password, even when the hub's own check is bypassed", async () => {
    expect(await authenticator().authenticate("alice", "")).toBeNull();
    // Direct bind makes the empty password the bind credential itself: an anonymous bind on Active Directory.
    expect(await authenticator({ bindDn: undefined, bindPasswordFile: undefined, bindDnTemplate: "uid={{username}},ou=people,dc=example,dc=org" }).authenticate("alice", "")).toBeNull();
  });

  it("refuses people outside the allowed groups with sign-in's message, and makes ops members admins", async () => {
    const carol = await signIn(hub, "carol", "carol-secret");
    expect(carol.status).toBe(403);
    expect(carol.text).toContain("carol may not sign in: not a member of an allowed group (staff)");
    expect((await signIn(hub, "bob", "bob-secret")).status).toBe(303);
    const bob = (await hub.api("GET", "users/bob")).body;
    expect(bob.admin).toBe(true);
    expect([...bob.groups].sort()).toEqual(["ops", "staff"]);
  });

  it("gives alice's servers the research group's limits", async () => {
    expect([201, 202]).toContain((await hub.api("POST", "users/alice/server")).status);
    const events = await readEvents(hub.url, "/hub/api/users/alice/server/progress", hub.adminToken);
    expect(events.at(-1)).toMatchObject({ ready: true });
    const server = (await hub.api("GET", "users/alice")).body.servers[""];
    expect(server.limits).toMatchObject({ memory_bytes: 4e9, memory: "4 GB" });
    expect((await hub.api("DELETE", "users/alice/server")).status).toBeLessThan(300);
  });
});

describe("other directory setups", () => {
  it("signs in over LDAPS with the CA file, with groups from a group search and the name from uid", async () => {
    const ldaps = await startTestHub({
      config: {
        auth: {
          backend: "ldap",
          ldap: ldapConfig({
            url: slapd.ldapsUrl,
            tlsCaFile: slapd.caFile,
            bindPasswordFile: undefined,
            bindPassword: slapd.bindPassword,
            usernameAttribute: "uid",
            groupsFrom: "search",
            groupSearchBase: `ou=groups,${slapd.baseDn}`,
            groupSearchFilter: "(&(objectClass=groupOfNames)(member={{dn}}))",
          }),
        },
      },
    });
    try {
      expect((await signIn(ldaps, "Bob@example.org", "bob-secret")).status).toBe(303);
      expect([...(await ldaps.api("GET", "users/bob")).body.groups].sort()).toEqual(["ops", "staff"]);
      expect((await signIn(ldaps, "bob", "wrong")).status).toBe(403);
    } finally {
      await ldaps.close();
    }
  });

  it("refuses an LDAPS server whose certificate it cannot verify, as unreachable", async () => {
    await expect(authenticator({ url: slapd.ldapsUrl }).authenticate("alice", "alice-secret")).rejects.toThrow(/directory unreachable: .*certificate/);
  });

  it("binds directly with a DN template when there is no service account", async () => {
    const direct = authenticator({ bindDn: undefined, bindPasswordFile: undefined, bindDnTemplate: "uid={{username}},ou=people,dc=example,dc=org" });
    expect(await direct.authenticate("EXAMPLE\\Alice", "alice-secret")).toEqual({ username: "alice", groups: ["staff", "research"] });
    expect(await direct.authenticate("alice", "wrong")).toBeNull();
    expect(await direct.authenticate("nobody", "alice-secret")).toBeNull();
    expect(await direct.authenticate("*)(uid=*", "alice-secret")).toBeNull();
  });

  it("says the directory is unreachable when nothing listens, instead of refusing the password", async () => {
    const down = authenticator({ url: `ldap://127.0.0.1:${await freePort()}` });
    await expect(down.authenticate("alice", "alice-secret")).rejects.toThrow(/^directory unreachable: .*ECONNREFUSED/);
  });
  it("gives up on a directory that accepts connections but never answers", async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      const started = Date.now();
      const hanging = authenticator({ url: `ldap://127.0.0.1:${port}`, connectTimeout: "300ms", timeout: "300ms" });
      await expect(hanging.authenticate("alice", "alice-secret")).rejects.toThrow(/^directory unreachable: /);
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
});

describe("a directory that goes down", () => {
  it("answers 503 'directory unreachable' in the form", async () => {
    await slapd.stop();
    const res = await signIn(hub, "alice", "alice-secret");
    expect(res.status).toBe(503);
    expect(res.text).toContain("directory unreachable");
  });
});

describe("configuration", () => {
  it("explains what an ldap backend is missing", () => {
    const problems = (input: HubConfigInput) => configSchema.safeParse(input).error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`) ?? [];
    expect(problems({ auth: { backend: "ldap" } })).toEqual([expect.stringMatching(/^auth\.ldap: backend: ldap needs an `ldap` section/)]);
    expect(problems({ auth: { backend: "ldap", ldap: { url: "ldap://dc", searchBase: "dc=x" } } })).toEqual([
      expect.stringMatching(/^auth\.ldap\.bindDn: set either bindDn/),
    ]);
    expect(problems({ auth: { backend: "ldap", ldap: { url: "ldap://dc", searchBase: "dc=x", bindDn: "cn=hub" } } })).toEqual([
      expect.stringMatching(/^auth\.ldap\.bindPasswordFile: bindDn needs exactly one/),
    ]);
    expect(
      problems({ auth: { backend: "ldap", ldap: { url: "http://dc", searchBase: "dc=x", bindDnTemplate: "{{username}}@x", groupsFrom: "search", searchFilter: "(uid=alice)" } } }),
    ).toHaveLength(3);
  });
});
