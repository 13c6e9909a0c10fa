/** Disk usage of a directory tree, like `du -s --bytes` of allocated blocks: hard links once, symlinks not followed. */
import { lstat, readdir } from "node:fs/promises";
import path from "node:path";

export async function directoryUsage(root: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  let pending: string[] = [root];
  while (pending.length) {
    const next: string[] = [];
    // One directory level at a time, its entries in parallel: fast without opening thousands of files at once.
    await Promise.all(
      pending.map(async (dir) => {
        let names: string[];
        try {
          names = await readdir(dir);
        } catch {
          return; // vanished or unreadable
        }
        for (let i = 0; i < names.length; i += 256) {
          await Promise.all(
            names.slice(i, i + 256).map(async (name) => {
              const p = path.join(dir, name);
              try {
                const s = await lstat(p);
                if (s.nlink > 1 && !s.isDirectory()) {
                  const key = `${s.dev}:${s.ino}`;
                  if (seen.has(key)) return;
                  seen.add(key);
                }
                total += s.blocks * 512;
                if (s.isDirectory()) next.push(p);
              } catch {
                // vanished while walking
              }
            }),
          );
        }
      }),
    );
    pending = next;
  }
  try {
    total += (await lstat(root)).blocks * 512;
  } catch {
    return 0;
  }
  return total;
}
