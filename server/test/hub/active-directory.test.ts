/**
 * Sign-in against a real Samba Active Directory domain controller (test/support/samba.ts) through the real
 * /hub/login form: sAMAccountName, UPN and EXAMPLE\name logins, groups through nested groups (AD's in-chain matching
 * rule) or from memberOf, LDAPS with a private CA, a service account bound by UPN and direct UPN binds, empty
 * passwords and names (an unauthenticated or anonymous bind on AD), and a domain controller that goes down (503).
 */
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LdapAuthenticator } from "../../src/auth/ldap-authenticator.js";
import { configSchema, type HubConfigInput } from "../../src/config/schema.js";
import { createLogger } from "../../src/lib/logger.js";
import { startTestHub, type TestHub, signInThroughForm, loginError } from "../support/hub.js";
import { startSamba, type SambaServer } from "../support/samba.js";

let samba: SambaServer;
let hub: TestHub;

type LdapInput = NonNullable<NonNullable<HubConfigInput["auth"]>["ldap"]>;

/** A typical AD setup: LDAPS, a service account, sAMAccountName as the hub name, nested groups by group search. */
function adConfig(overrides: Partial<LdapInput> = {}): LdapInput {
  return {
    url: samba.ldapsUrl,
    tlsCaFile: samba.caFile,
    bindDn: samba.bindDn,
    bindPassword: samba.bindPassword,
    searchBase: samba.usersDn,
    searchFilter: "(sAMAccountName={{username}})",
    usernameAttribute: "sAMAccountName",
    groupsFrom: "search",
    groupSearchBase: samba.usersDn,
    nestedGroups: true,
    connectTimeout: "2s",
    timeout: "3s",
    ...overrides,
  };
}

const authConfig = (ldap: LdapInput): HubConfigInput => ({ auth: { backend: "ldap", ldap, allowedGroups: ["staff"], adminGroups: ["ops"] } });

function authenticator(overrides: Partial<LdapInput> = {}): LdapAuthenticator {
  const config = configSchema.parse({ auth: { backend: "ldap", ldap: adConfig(overrides) } });
  return new LdapAuthenticator(config.auth.ldap!, createLogger("silent"));
}

beforeAll(async () => {
  samba = await startSamba();
  hub = await startTestHub({ config: authConfig(adConfig()) });
});

afterAll(async () => {
  await hub?.close();
  await samba?.stop();
});

/** Signs in through the real form; the status and the hub's sentence when refused. */
async function signIn(t: TestHub, username: string, password: string): Promise<{ status: number; text: string }> {
  const res = await signInThroughForm(t.url, username, password);
  return { status: res.status, text: loginError(res) ?? "" };
}

const sorted = (groups: string[]) => [...groups].sort();

describe("signing in against Active Directory", () => {
  it("maps alice, ALICE, her UPN and EXAMPLE\\alice to the hub user alice with her groups", async () => {
    for (const typed of ["alice", "ALICE", "alice@ad.example.org", "EXAMPLE\\alice"]) {
      expect((await signIn(hub, typed, samba.passwords.alice)).status, typed).toBe(303);
    }
    const names = (await hub.api("GET", "users")).body.map((u: { name: string }) => u.name);
    expect(names.filter((n: string) => n.includes("alice"))).toEqual(["alice"]);
    const alice = (await hub.api("GET", "users/alice")).body;
    expect(sorted(alice.groups)).toEqual(["research", "staff"]);
    expect(alice.admin).toBe(false);
    // Her entry is CN=Alice Liddell,…: the hub name comes from sAMAccountName, not from the DN.
    expect(await authenticator().authenticate("Alice@AD.example.org", samba.passwords.alice)).toMatchObject({ username: "alice" });
  });

  it("refuses a wrong password, an unknown user, an empty password and filter injection alike", async () => {
    const attempts: [string, string][] = [
      ["alice", "wrong-password"],
      ["alice", samba.passwords.bob],
      ["nobody", samba.passwords.alice],
      ["alice", ""],
      ["EXAMPLE\\alice", ""],
      ["*", samba.passwords.alice],
      ["*)(sAMAccountName=*", samba.passwords.alice],
    ];
    for (const [user, password] of attempts) {
      const res = await signIn(hub, user, password);
      expect(res.status, `${user} / ${password}`).toBe(403);
      expect(res.text).toContain("Invalid username or password.");
    }
  });

  it("never authenticates an empty password or an empty name, whatever the directory does with them", async () => {
    // Windows AD answers a simple bind with a name and no password with success (an "unauthenticated bind", RFC 4513
    // 5.1.2). Samba 4.17 refuses that one (49, data 52e) but does accept a fully anonymous bind, so both are checked
    // here: the authenticator must never depend on the directory refusing them.
    const bind = (name: string) =>
      spawnSync("ldapsearch", ["-x", "-H", samba.ldapsUrl, "-D", name, "-w", "", "-b", "", "-s", "base", "defaultNamingContext"], {
        env: { ...process.env, LDAPTLS_CACERT: samba.caFile },
        encoding: "utf8",
      });
    expect(bind("").status, "anonymous bind").toBe(0);
    expect(bind("").stdout).toContain("defaultNamingContext: DC=ad,DC=example,DC=org");
    expect(bind("alice@ad.example.org").stderr).toContain("Invalid credentials (49)");
    const direct = authenticator({ bindDn: undefined, bindPassword: undefined, bindDnTemplate: "{{username}}@ad.example.org" });
    for (const auth of [authenticator(), direct]) {
      for (const [user, password] of [["alice", ""], ["EXAMPLE\\alice", ""], ["", ""], ["", samba.passwords.alice], ["EXAMPLE\\", samba.passwords.alice]]) {
        expect(await auth.authenticate(user!, password!), `${user} / ${password}`).toBeNull();
      }
    }
    expect((await signIn(hub, "", "")).status).toBe(403);
  });

  it("lets carol in only through engineering, a group nested in staff (in-chain rule)", async () => {
    expect((await signIn(hub, "carol", samba.passwords.carol)).status).toBe(303);
    const carol = (await hub.api("GET", "users/carol")).body;
    expect(sorted(carol.groups)).toEqual(["engineering", "staff"]);
    expect(carol.admin).toBe(false);
    // Without the in-chain rule she is only in engineering, whether from a group search or from memberOf.
    expect(await authenticator({ nestedGroups: false }).authenticate("carol", samba.passwords.carol)).toEqual({ username: "carol", groups: ["engineering"] });
    expect(await authenticator({ groupsFrom: "memberOf", groupSearchBase: undefined, nestedGroups: false }).authenticate("carol", samba.passwords.carol)).toEqual({
      username: "carol",
      groups: ["engineering"],
    });
  });

  it("makes ops members admins", async () => {
    expect((await signIn(hub, "EXAMPLE\\Bob", samba.passwords.bob)).status).toBe(303);
    const bob = (await hub.api("GET", "users/bob")).body;
    expect(bob.admin).toBe(true);
    expect(sorted(bob.groups)).toEqual(["ops", "staff"]);
  });
});

describe("other Active Directory setups", () => {
  it("with groups from memberOf over plain ldap://, refuses carol (no nesting) and still admits alice and bob", async () => {
    const memberOf = await startTestHub({ config: authConfig(adConfig({ url: samba.url, tlsCaFile: undefined, groupsFrom: "memberOf", groupSearchBase: undefined, nestedGroups: false })) });
    try {
      const carol = await signIn(memberOf, "carol", samba.passwords.carol);
      expect(carol.status).toBe(403);
      expect(carol.text).toContain("carol may not sign in: not a member of an allowed group (staff)");
      expect((await signIn(memberOf, "alice@ad.example.org", samba.passwords.alice)).status).toBe(303);
      expect(sorted((await memberOf.api("GET", "users/alice")).body.groups)).toEqual(["research", "staff"]);
      expect((await signIn(memberOf, "bob", samba.passwords.bob)).status).toBe(303);
      expect((await memberOf.api("GET", "users/bob")).body.admin).toBe(true);
    } finally {
      await memberOf.close();
    }
  });

  it("binds directly as the person's UPN when there is no service account", async () => {
    const direct = authenticator({ bindDn: undefined, bindPassword: undefined, bindDnTemplate: "{{username}}@ad.example.org" });
    expect(await direct.authenticate("EXAMPLE\\Alice", samba.passwords.alice)).toEqual({ username: "alice", groups: expect.arrayContaining(["staff", "research"]) });
    expect(await direct.authenticate("carol@ad.example.org", samba.passwords.carol)).toEqual({ username: "carol", groups: expect.arrayContaining(["engineering", "staff"]) });
    expect(await direct.authenticate("alice", "wrong")).toBeNull();
    expect(await direct.authenticate("nobody", samba.passwords.alice)).toBeNull();
  });

  it("refuses the DC's certificate without the CA file, as unreachable", async () => {
    await expect(authenticator({ tlsCaFile: undefined }).authenticate("alice", samba.passwords.alice)).rejects.toThrow(/directory unreachable: .*certificate/);
  });
});

describe("a domain controller that goes down", () => {
  it("answers 503 'directory unreachable' in the form", async () => {
    await samba.stop();
    const res = await signIn(hub, "alice", samba.passwords.alice);
    expect(res.status).toBe(503);
    expect(res.text).toContain("directory unreachable");
  });
});
