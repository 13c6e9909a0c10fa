/**
 * The numeric ids this machine already uses, so that the hub never hands a user a uid (or the gid of the same
 * number) that belongs to an account, a group, or a subordinate range of rootless containers: sharing a number
 * with any of them would share files and processes with them.
 */
import { readFileSync } from "node:fs";

/** Inclusive ranges of ids in use, sorted. */
export type IdRanges = ReadonlyArray<readonly [number, number]>;

/** The third field of passwd/group lines (`name:x:1000:…`). */
export function idsFromDatabase(text: string): number[] {
  const ids: number[] = [];
  for (const line of text.split("\n")) {
    const field = line.split(":")[2];
    if (field !== undefined && /^\d+$/.test(field)) ids.push(Number(field));
  }
  return ids;
}

/** `name:start:count` lines of /etc/subuid and /etc/subgid. */
export function rangesFromSubordinate(text: string): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  for (const line of text.split("\n")) {
    const [, start, count] = line.split(":");
    if (start && count && /^\d+$/.test(start) && /^\d+$/.test(count) && Number(count) > 0) {
      ranges.push([Number(start), Number(start) + Number(count) - 1]);
    }
  }
  return ranges;
}

function readOrEmpty(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

/** Every id taken on this machine (read when an identity is allocated, which is rare: once per user). */
export function machineIds(etc = "/etc"): IdRanges {
  const single = [...idsFromDatabase(readOrEmpty(`${etc}/passwd`)), ...idsFromDatabase(readOrEmpty(`${etc}/group`))];
  const ranges = [
    ...single.map((id): [number, number] => [id, id]),
    ...rangesFromSubordinate(readOrEmpty(`${etc}/subuid`)),
    ...rangesFromSubordinate(readOrEmpty(`${etc}/subgid`)),
  ];
  return ranges.sort((a, b) => a[0] - b[0]);
}

/** The first id ≥ `from` and ≤ `last` outside every taken range; undefined when none is left. */
export function firstFreeId(from: number, last: number, taken: IdRanges): number | undefined {
  let candidate = from;
  for (const [start, end] of taken) {
    if (end < candidate) continue;
    if (start > candidate) break;
    candidate = end + 1;
  }
  return candidate <= last ? candidate : undefined;
}
