/**
 * The authenticator seam (after JupyterHub's Authenticator): a backend only checks credentials and says who that is
 * and which groups they are in; the hub's own rules — allowed groups, admin groups, creating the user and syncing
 * their groups — live in sign-in.ts, the same for every backend.
 */

/** Who a backend says signed in, already normalised to a hub username (lowercase, no domain). */
export interface ExternalIdentity {
  username: string;
  /** The person's groups in the organisation's directory (empty for local accounts, whose groups the hub keeps). */
  groups: string[];
}

/** A backend that checks a username and a password: local accounts, LDAP / Active Directory. */
export interface PasswordAuthenticator {
  /** Shown in logs and errors: "local", "ldap". */
  readonly name: string;
  /** True when group membership comes from this backend and is synced at every sign-in. */
  readonly syncsGroups: boolean;
  /**
   * Resolves the identity, or null for wrong credentials (unknown user and wrong password alike). Throws
   * UnavailableError when the backend cannot be reached, so people are told "directory unreachable", not "wrong
   * password". The hub never calls it with an empty password.
   */
  authenticate(username: string, password: string): Promise<ExternalIdentity | null>;
}
