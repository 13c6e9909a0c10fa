/**
 * The hub's data directory holds the database, the secret key, the first administrator's password and every
 * server's folder. Nothing in it may be readable by the uids servers run as: the directory itself is 0711 when
 * local servers must pass through it to their homes (0700 otherwise), and every entry in it is made private to the
 * hub (group and other bits cleared) at each start, which also repairs data directories made by earlier versions
 * under a permissive umask. The servers' root manages its own modes (spawners/local).
 */
import { chmod, lstat, mkdir, readdir } from "node:fs/promises";
import path from "node:path";

export async function prepareDataDir(dataDir: string, options: { passThrough: boolean }): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await chmod(dataDir, options.passThrough ? 0o711 : 0o700);
}

/** Clears group and other permission bits on every entry of `dataDir` except `keep` (absolute paths). */
export async function makeEntriesPrivate(dataDir: string, keep: string[]): Promise<void> {
  for (const name of await readdir(dataDir)) {
    const entry = path.join(dataDir, name);
    if (keep.includes(entry)) continue;
    const s = await lstat(entry);
    // Only the owner (or root) may change a mode; a file someone else put here stays theirs to protect.
    const mine = process.getuid?.() === 0 || s.uid === process.getuid?.();
    if (s.isSymbolicLink() || (s.mode & 0o077) === 0 || !mine) continue;
    await chmod(entry, s.mode & 0o700);
  }
}
