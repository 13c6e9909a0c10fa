/**
 * Whether a path can be used by a uid that owns nothing on the machine and belongs to no group of it — what every
 * server uid is. Only the "other" permission bits count for it, on the path itself and on every folder above it.
 * Checked before a start so that a hub installed under /root (mode 0700) fails with the reason instead of a
 * server that dies with "Permission denied" in its log.
 */
import { realpathSync, statSync } from "node:fs";
import path from "node:path";

const OTHER_X = 0o001;
const OTHER_R = 0o004;

/** Why `target` is unusable by other uids (`need`: read, execute or both), or undefined when it is usable. */
export function unusableByOthers(target: string, need: { read?: boolean; execute?: boolean }): string | undefined {
  let real: string;
  try {
    real = realpathSync(target);
  } catch (err) {
    return `${target} does not exist (${(err as NodeJS.ErrnoException).code})`;
  }
  // The symlink's own folders must be enterable too, then those of where it leads.
  for (const p of new Set([path.resolve(target), real])) {
    for (let dir = path.dirname(p); ; dir = path.dirname(dir)) {
      const mode = statSync(dir).mode;
      if (!(mode & OTHER_X)) return `${dir} is mode ${(mode & 0o777).toString(8).padStart(4, "0")}: other users cannot enter it`;
      if (dir === "/") break;
    }
  }
  const mode = statSync(real).mode;
  const octal = (mode & 0o777).toString(8).padStart(4, "0");
  if (need.read && !(mode & OTHER_R)) return `${real} is mode ${octal}: other users cannot read it`;
  if (need.execute && !(mode & OTHER_X)) return `${real} is mode ${octal}: other users cannot run it`;
  return undefined;
}
