/**
 * What happens after a backend vouched for someone, the same for every backend: the allowed-groups rule, admin
 * rights from admin groups, the user row created on first sign-in, directory groups synced.
 */
import { ForbiddenError } from "../errors.js";
import type { Users } from "../users/service.js";
import type { ExternalIdentity } from "./authenticator.js";

export interface SignInRules {
  /** When non-empty, only members of one of these groups may sign in. */
  allowedGroups: string[];
  /** Members of any of these groups are administrators (checked at every sign-in). */
  adminGroups: string[];
}

export async function completeSignIn(users: Users, identity: ExternalIdentity, rules: SignInRules, syncsGroups: boolean) {
  const existing = await users.find(identity.username);
  const groups = syncsGroups ? identity.groups : (existing?.groups.map((g) => g.group.name) ?? []);
  if (rules.allowedGroups.length > 0 && !groups.some((g) => rules.allowedGroups.includes(g))) {
    // Someone who left the allowed groups loses the sessions they still had, not just this sign-in.
    if (existing) await users.revokeSessions(existing.name);
    throw new ForbiddenError(
      `${identity.username} may not sign in: not a member of an allowed group (${rules.allowedGroups.join(", ")})`,
    );
  }
  const inAdminGroup = groups.some((g) => rules.adminGroups.includes(g));
  const user = existing ?? (await users.create(identity.username, { admin: inAdminGroup }));
  if (syncsGroups) await users.setGroups(user.name, groups);
  // Admin groups grant (and, for synced directories, withdraw) admin rights; local admins keep theirs.
  if (syncsGroups && user.admin !== inAdminGroup) await users.setAdmin(user.name, inAdminGroup);
  else if (!syncsGroups && inAdminGroup && !user.admin) await users.setAdmin(user.name, true);
  return users.get(user.name);
}
