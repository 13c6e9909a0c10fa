/**
 * Golden files for generated text: compared exactly, rewritten with UPDATE_GOLDEN=1
 * (`UPDATE_GOLDEN=1 npx vitest run test/builder`), then reviewed in the diff like any other change.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";

export const GOLDEN_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "golden");
const UPDATE = process.env.UPDATE_GOLDEN === "1";

export function expectGolden(relative: string, actual: string): void {
  const file = path.join(GOLDEN_DIR, relative);
  if (UPDATE) {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, actual);
    return;
  }
  if (!existsSync(file)) throw new Error(`golden file ${relative} is missing; run with UPDATE_GOLDEN=1 to write it`);
  expect(actual, `differs from golden/${relative} (UPDATE_GOLDEN=1 rewrites it)`).toBe(readFileSync(file, "utf8"));
}
