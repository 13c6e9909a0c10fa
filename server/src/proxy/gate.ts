/**
 * The gate every proxied request and upgrade passes, in this order, before anything reveals whether a server exists:
 * authenticated? → may this identity use this user's servers? → Origin/Referer → XSRF (cookie-authenticated writes).
 * Every refusal is told to `onRefused` (the audit trail).
 */
import type { IncomingMessage } from "node:http";
import { isBrowserNavigation, ownerOrAdmin } from "./access.js";
import { checkOrigin, checkXsrf, isStateChanging } from "./csrf.js";
import { stripTokenParam } from "./headers.js";
import type { RouteMatch } from "./routes.js";
import type { ProxyIdentity, UserProxyOptions } from "./types.js";

/** Why a request may not pass: send to sign-in, or refuse. */
export type Verdict = { status: 302; location: string } | { status: 403; message: string };

export type Gate = (
  req: IncomingMessage,
  match: RouteMatch,
  identity: ProxyIdentity | undefined,
  url: string,
  upgrade: boolean,
) => Promise<Verdict | undefined>;

export function createGate(
  opts: Pick<UserProxyOptions, "isAllowedOrigin" | "loginUrl" | "logger" | "onRefused"> & {
    canAccess: (identity: ProxyIdentity, user: string, serverName: string) => boolean | Promise<boolean>;
  },
): Gate {
  const { isAllowedOrigin, loginUrl, logger, canAccess, onRefused } = opts;
  return async (req, match, identity, url, upgrade) => {
    const verdict = await judge(req, match, identity, url, upgrade);
    if (verdict?.status === 403) {
      const serverName = match.route ? match.route.serverName : match.candidate;
      onRefused?.({ req, identity, user: match.user, serverName, message: verdict.message, upgrade });
    }
    return verdict;
  };

  async function judge(req: IncomingMessage, match: RouteMatch, identity: ProxyIdentity | undefined, url: string, upgrade: boolean): Promise<Verdict | undefined> {
    if (!identity) {
      if (!upgrade && isBrowserNavigation(req)) return { status: 302, location: loginUrl(stripTokenParam(url)) };
      return { status: 403, message: "authentication required: sign in to the hub or send an API token" };
    }
    const serverName = match.route ? match.route.serverName : match.candidate;
    // Owners and admins without a wait; anyone else may be someone the server is shared with (the hub looks it up).
    if (!(ownerOrAdmin(identity, match.user) || (await canAccess(identity, match.user, serverName)))) {
      // Same words whether or not the server exists or runs: a refusal reveals nothing about it.
      return { status: 403, message: `${identity.name} may not use servers of ${match.user}` };
    }
    // An upgrade counts as a write: a WebSocket to a kernel executes code.
    const writes = upgrade || isStateChanging(req.method);
    const refusal =
      checkOrigin(req, isAllowedOrigin, writes) ??
      // Browsers cannot add headers to a WebSocket handshake, and always send Origin with one: Origin suffices.
      (identity.via === "cookie" && writes && !upgrade ? checkXsrf(req) : undefined);
    if (refusal) {
      logger?.warn(
        { rule: refusal.rule, user: identity.name, method: req.method, url: stripTokenParam(url) },
        "proxy: cross-site request refused",
      );
      return { status: 403, message: `refused by rule "${refusal.rule}": ${refusal.message}` };
    }
    return undefined;
  }
}
