/**
 * A uid source for spawner-level tests, which run without a database: each user gets the next free uid of the
 * range by the same machine-aware rule as the hub's database-backed allocator (users/unix-identities.ts).
 */
import { firstFreeId, machineIds } from "../../src/users/system-ids.js";
import type { UidSource } from "../../src/users/unix-identities.js";

export function memoryUids(first = 1_500_000, last = 1_599_999): UidSource {
  const given = new Map<string, number>();
  let next = first;
  return {
    description: `uids ${first}–${last} (test allocator, in memory)`,
    async uidFor(user) {
      let uid = given.get(user);
      if (uid === undefined) {
        uid = firstFreeId(next, last, machineIds());
        if (uid === undefined) throw new Error("test uid range exhausted");
        given.set(user, uid);
        next = uid + 1;
      }
      return uid;
    },
  };
}
