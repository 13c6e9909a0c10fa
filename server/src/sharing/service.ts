/**
 * Sharing a server (JupyterHub 5's model): its owner shares a named or default server with other users or groups,
 * who may then use it through the proxy, read-write, as the owner does (the proxy sends every request with the
 * server's own token). The owner's policy decides whether, and with how many (`shares`; 0: off). A revoked share
 * takes effect at once: the proxy checks every request, and live WebSockets of people no longer allowed are closed.
 * Shares go with their server (deleted with it); a share with a group reaches whoever is in the group at the time.
 */
import type { PolicyRequest, Decision, PolicyUser } from "../policy/index.js";
import { InputError, NotFoundError, PolicyDenied } from "../errors.js";
import type { Logger } from "../lib/logger.js";
import type { Db } from "../store/database.js";

export type ShareKind = "user" | "group";

export interface ShareTarget {
  kind: ShareKind;
  name: string;
}

export interface ShareRecord {
  owner: string;
  server: string;
  kind: ShareKind;
  target: string;
  createdAt: Date;
}

/** A server shared with someone, as they see it. */
export interface SharedServer {
  owner: string;
  server: string;
  status: string;
  /** How it is shared with them: by name, or through a group (its name). */
  via: ShareTarget;
  createdAt: Date;
}

export interface SharingOptions {
  db: Db;
  policy: { decide(request: PolicyRequest): Decision };
  logger: Logger;
  /**
   * Called after a revocation, with a check of who may still use the server: the proxy closes the live WebSockets
   * of anyone no longer allowed. Resolves how many it closed.
   */
  onRevoked?(owner: string, server: string, stillAllowed: (name: string) => Promise<boolean>): Promise<number>;
}

type Owner = { id: number; name: string };

export class Sharing {
  constructor(private readonly o: SharingOptions) {}

  /** The shares of `owner`'s server `serverName`, oldest first. */
  async list(owner: Owner, serverName: string): Promise<ShareRecord[]> {
    const server = await this.serverOf(owner, serverName);
    const rows = await this.o.db.serverShare.findMany({ where: { serverId: server.id }, orderBy: { id: "asc" } });
    return rows.map((row) => ({ owner: owner.name, server: serverName, kind: row.kind as ShareKind, target: row.target, createdAt: row.createdAt }));
  }

  /**
   * Shares `owner`'s server with a user or a group that exists, if the owner's policy allows one more share; sharing
   * again what is already shared changes nothing. Returns the share.
   */
  async share(owner: Owner & { groups: string[] }, serverName: string, target: ShareTarget): Promise<ShareRecord> {
    const server = await this.serverOf(owner, serverName);
    if (target.kind === "user" && target.name === owner.name) throw new InputError("a server is always its owner's: share it with someone else");
    await this.mustExist(target);
    const existing = await this.o.db.serverShare.findUnique({ where: { serverId_kind_target: { serverId: server.id, kind: target.kind, target: target.name } } });
    if (existing) return this.record(owner.name, serverName, existing);
    const shares = await this.o.db.serverShare.count({ where: { serverId: server.id } });
    const user: PolicyUser = { name: owner.name, groups: owner.groups };
    const decision = this.o.policy.decide({ action: "server.share", user, server: { name: serverName }, current: { shares } });
    if (!decision.allow) throw new PolicyDenied(decision.reasons);
    const row = await this.o.db.serverShare.upsert({
      where: { serverId_kind_target: { serverId: server.id, kind: target.kind, target: target.name } },
      create: { serverId: server.id, kind: target.kind, target: target.name },
      update: {},
    });
    this.o.logger.info({ owner: owner.name, server: serverName, ...target }, "server shared");
    return this.record(owner.name, serverName, row);
  }

  /**
   * Revokes the share with `target`, or every share of the server when `target` is undefined, then closes the live
   * WebSockets of whoever may no longer use it. Returns how many shares were removed.
   */
  async revoke(owner: Owner, serverName: string, target?: ShareTarget): Promise<number> {
    const server = await this.serverOf(owner, serverName);
    const { count } = await this.o.db.serverShare.deleteMany({
      where: { serverId: server.id, ...(target ? { kind: target.kind, target: target.name } : {}) },
    });
    if (count > 0) {
      const closed = (await this.o.onRevoked?.(owner.name, serverName, (name) => this.mayUse(name, owner.name, serverName))) ?? 0;
      this.o.logger.info({ owner: owner.name, server: serverName, ...(target ?? {}), revoked: count, webSocketsClosed: closed }, "share revoked");
    }
    return count;
  }

  /**
   * `name` gives up the share of `owner`'s server made to them by name (a group's share is the group's). The same
   * answer whether or not there was one, so that nobody learns other users' server names from it.
   */
  async leave(name: string, owner: string, serverName: string): Promise<void> {
    const { count } = await this.o.db.serverShare.deleteMany({
      where: { kind: "user", target: name, server: { name: serverName, user: { name: owner } } },
    });
    if (count === 0) return;
    const closed = (await this.o.onRevoked?.(owner, serverName, (who) => this.mayUse(who, owner, serverName))) ?? 0;
    this.o.logger.info({ owner, server: serverName, user: name, webSocketsClosed: closed }, "share left");
  }

  /** The servers shared with `user`, by name or through one of their groups. */
  async sharedWith(user: PolicyUser): Promise<SharedServer[]> {
    const rows = await this.o.db.serverShare.findMany({
      where: { OR: [{ kind: "user", target: user.name }, { kind: "group", target: { in: [...user.groups] } }] },
      include: { server: { include: { user: { select: { name: true } } } } },
      orderBy: { id: "asc" },
    });
    return rows.map((row) => ({
      owner: row.server.user.name,
      server: row.server.name,
      status: row.server.status,
      via: { kind: row.kind as ShareKind, name: row.target },
      createdAt: row.createdAt,
    }));
  }

  /** Whether `name` may use `owner`'s server `serverName` through a share (owners and admins are not asked). */
  async mayUse(name: string, owner: string, serverName: string): Promise<boolean> {
    const user = await this.o.db.user.findUnique({ where: { name }, select: { admin: true, groups: { select: { group: { select: { name: true } } } } } });
    if (!user) return false;
    if (user.admin) return true;
    const groups = user.groups.map((g) => g.group.name);
    const share = await this.o.db.serverShare.findFirst({
      where: {
        server: { name: serverName, user: { name: owner } },
        OR: [{ kind: "user", target: name }, ...(groups.length ? [{ kind: "group", target: { in: groups } }] : [])],
      },
      select: { id: true },
    });
    return share !== null;
  }

  private async serverOf(owner: Owner, serverName: string) {
    const server = await this.o.db.server.findUnique({ where: { userId_name: { userId: owner.id, name: serverName } }, select: { id: true } });
    if (!server) throw new NotFoundError(`${owner.name} has no server named '${serverName}'`);
    return server;
  }

  private async mustExist(target: ShareTarget): Promise<void> {
    const found =
      target.kind === "user"
        ? await this.o.db.user.findUnique({ where: { name: target.name }, select: { id: true } })
        : await this.o.db.group.findUnique({ where: { name: target.name }, select: { id: true } });
    if (!found) throw new NotFoundError(`no such ${target.kind}: ${target.name}`);
  }

  private record(owner: string, server: string, row: { kind: string; target: string; createdAt: Date }): ShareRecord {
    return { owner, server, kind: row.kind as ShareKind, target: row.target, createdAt: row.createdAt };
  }
}
