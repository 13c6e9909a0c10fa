/**
 * Giving a server's folders to its user: the home (or the root of its volume) and its socket folder are owned by
 * the user's uid and mode 0700, so no other uid can enter them. Folders made before servers had identities of their
 * own are owned by root: they are taken over (every entry chowned, symlinks themselves rather than their targets)
 * at the next start, children first and the top last, so an interrupted takeover is finished by the next start.
 * giveTo() returns how many entries an old folder had to have chowned (0 for a new or already given one).
 */
import { chmod, chown, lchown, lstat, mkdir, readdir, stat } from "node:fs/promises";
import path from "node:path";

/** Makes `dir` (creating it) the user's own, mode 0700. Returns how many entries had to be chowned. */
export async function giveTo(dir: string, owner: { uid: number; gid: number }): Promise<number> {
  const created = (await mkdir(dir, { recursive: true, mode: 0o700 })) !== undefined;
  const s = await stat(dir);
  let changed = 0;
  if (s.uid !== owner.uid || s.gid !== owner.gid) {
    // A new folder is simply given; an old one is taken over with everything in it.
    changed = created ? 0 : (await chownTree(dir, owner)) + 1;
    await chown(dir, owner.uid, owner.gid);
  }
  if ((s.mode & 0o777) !== 0o700) await chmod(dir, 0o700);
  return changed;
}

/** Chowns everything below `dir` (not `dir` itself), without following symlinks or crossing into other mounts. */
async function chownTree(dir: string, owner: { uid: number; gid: number }): Promise<number> {
  const device = (await lstat(dir)).dev;
  let changed = 0;
  const walk = async (current: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(current);
    } catch {
      return;
    }
    for (const name of names) {
      const p = path.join(current, name);
      const s = await lstat(p).catch(() => undefined);
      if (!s) continue;
      if (s.isDirectory() && s.dev === device) await walk(p);
      if (s.uid !== owner.uid || s.gid !== owner.gid) {
        await lchown(p, owner.uid, owner.gid);
        changed++;
      }
    }
  };
  await walk(dir);
  return changed;
}

/** A folder the hub keeps for itself but that servers must be able to pass through (mode 0711, root's). */
export async function passThrough(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o711 });
  const s = await stat(dir);
  if ((s.mode & 0o777) !== 0o711) await chmod(dir, 0o711);
}
