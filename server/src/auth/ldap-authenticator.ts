/**
 * LDAP / Active Directory sign-in on passport-ldapauth: find the person's entry (with a service account, or bound as
 * the person through a DN/UPN template), bind as that entry with the password, read their groups from memberOf or a
 * group search. Allowed/admin groups and the user row are sign-in.ts's business, as for every backend.
 */
import { readFileSync } from "node:fs";
import LdapStrategy from "passport-ldapauth";
import type { LdapConfig } from "../config/schema.js";
import { ForbiddenError, UnavailableError } from "../errors.js";
import type { Logger } from "../lib/logger.js";
import { validateUsername } from "../users/service.js";
import type { ExternalIdentity, PasswordAuthenticator } from "./authenticator.js";
import { attributeValues, escapeDnValue, escapeFilterValue, fillTemplate, groupNameFromDn, normaliseLogin } from "./ldap-names.js";
import { runStrategy } from "./passport-run.js";

/** AD's LDAP_MATCHING_RULE_IN_CHAIN: membership through nested groups, evaluated by the server. */
const NESTED_MEMBER_FILTER = "(member:1.2.840.113556.1.4.1941:={{dn}})";

type Entry = Record<string, unknown> & { dn: string; _groups?: Record<string, unknown>[] };

export class LdapAuthenticator implements PasswordAuthenticator {
  readonly name = "ldap";
  readonly syncsGroups = true;
  private readonly bindPassword: string | undefined;
  private readonly ca: Buffer | undefined;

  /** Reads the password and CA files now, so a wrong path stops the hub at startup rather than at first sign-in. */
  constructor(
    private readonly config: LdapConfig,
    private readonly logger: Logger,
  ) {
    this.bindPassword = config.bindPasswordFile ? readFileSync(config.bindPasswordFile, "utf8").replace(/\r?\n$/, "") : config.bindPassword;
    this.ca = config.tlsCaFile ? readFileSync(config.tlsCaFile) : undefined;
  }

  async authenticate(username: string, password: string): Promise<ExternalIdentity | null> {
    // An empty password is an anonymous bind that Active Directory accepts: never let one through, whoever calls.
    if (!password) return null;
    const login = normaliseLogin(username, this.config.stripDomain);
    if (!login || login.length > 256 || /[\0-\x1f]/.test(login)) return null;

    const strategy = new LdapStrategy({ server: this.serverOptions(login, password), credentialsLookup: () => ({ username: login, password }) });
    // ldapjs has its own timeouts; this one only guarantees an answer if a connection hangs somewhere between them.
    const budget = this.config.connectTimeout + 4 * this.config.timeout;
    const outcome = await runStrategy<Entry>(strategy, budget);
    if (outcome.kind === "error") {
      const reason = describe(outcome.error);
      if (/unexpected number of matches/.test(reason)) {
        this.logger.warn({ login }, "ldap: several entries match this name; refusing the sign-in");
        return null;
      }
      this.logger.warn({ login, reason }, "ldap: directory unreachable");
      throw new UnavailableError(`directory unreachable: ${reason}`);
    }
    if (outcome.kind === "fail") {
      this.logger.debug({ login, info: outcome.info }, "ldap: credentials refused");
      return null;
    }
    const entry = outcome.user;
    const name = this.hubUsername(entry, login);
    try {
      validateUsername(name);
    } catch {
      throw new ForbiddenError(`${name} cannot be a hub username: use lowercase letters, digits, '.', '_' or '-'`);
    }
    return { username: name, groups: this.groupsOf(entry) };
  }

  /** ldapauth-fork options for one sign-in (it mutates them, so never shared between sign-ins). */
  private serverOptions(login: string, password: string) {
    const c = this.config;
    const direct = c.bindDnTemplate !== undefined;
    const groupFilter = c.groupSearchFilter ?? (c.nestedGroups ? NESTED_MEMBER_FILTER : "(member={{dn}})");
    return {
      url: c.url,
      // Direct bind: the person's own DN/UPN and password search for their entry (no service account exists).
      bindDN: direct ? fillTemplate(c.bindDnTemplate!, { username: login }, escapeDnValue) : c.bindDn,
      bindCredentials: direct ? password : this.bindPassword,
      searchBase: c.searchBase,
      // ldapauth-fork escapes {{username}} itself (over-escaping `\`, which is safe: such a name just finds nobody).
      searchFilter: c.searchFilter,
      // memberOf is an operational attribute in OpenLDAP: returned only when asked for by name.
      searchAttributes: ["dn", c.memberOfAttribute, ...(c.usernameAttribute ? [c.usernameAttribute] : [])],
      ...(c.groupsFrom === "search"
        ? {
            groupSearchBase: c.groupSearchBase!,
            groupSearchFilter: (entry: Entry) =>
              fillTemplate(groupFilter, { dn: entry.dn, username: this.hubUsername(entry, login) }, escapeFilterValue),
            groupSearchAttributes: [c.groupNameAttribute],
          }
        : {}),
      tlsOptions: { ...(this.ca ? { ca: [this.ca] } : {}), minVersion: "TLSv1.2" as const },
      connectTimeout: c.connectTimeout,
      timeout: c.timeout,
      reconnect: false,
    };
  }

  private hubUsername(entry: Entry, login: string): string {
    const attribute = this.config.usernameAttribute;
    const value = attribute ? attributeValues(entry, attribute)[0] : undefined;
    return (value ?? login).trim().toLowerCase();
  }

  private groupsOf(entry: Entry): string[] {
    const c = this.config;
    const names =
      c.groupsFrom === "memberOf"
        ? attributeValues(entry, c.memberOfAttribute).map(groupNameFromDn)
        : c.groupsFrom === "search"
          ? (entry._groups ?? []).map((group) => attributeValues(group, c.groupNameAttribute)[0])
          : [];
    return [...new Set(names.filter((n): n is string => !!n))];
  }
}

/** A short reason for people and logs; ldapjs errors carry no credentials. */
function describe(error: unknown): string {
  if (typeof error === "string") return error;
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
