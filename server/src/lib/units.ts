/**
 * Human-friendly quantities used in config and policy files: durations ("90s", "2h", "1h30m") and byte sizes
 * ("2GiB", "2GB", "512Mi", "1.5G"). Kubernetes-style suffixes are accepted so that the same values read the same
 * in policies/ and in the Helm chart.
 */
import { z } from "zod";

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;

/** Parses "1h30m" into milliseconds; a bare number is seconds. Returns undefined when the text is not a duration. */
export function parseDuration(text: string | number): number | undefined {
  if (typeof text === "number") return Number.isFinite(text) && text >= 0 ? text * 1000 : undefined;
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  DURATION_PART.lastIndex = 0;
  let total = 0;
  let consumed = 0;
  for (let m = DURATION_PART.exec(trimmed); m; m = DURATION_PART.exec(trimmed)) {
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    consumed = DURATION_PART.lastIndex;
  }
  return consumed > 0 && consumed === trimmed.length ? Math.round(total) : undefined;
}

const BYTE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1e3, kb: 1e3, ki: 1024, kib: 1024,
  m: 1e6, mb: 1e6, mi: 1024 ** 2, mib: 1024 ** 2,
  g: 1e9, gb: 1e9, gi: 1024 ** 3, gib: 1024 ** 3,
  t: 1e12, tb: 1e12, ti: 1024 ** 4, tib: 1024 ** 4,
};

/** Parses "2GiB" / "2GB" / "512Mi" / 1048576 into bytes. Returns undefined when the text is not a size. */
export function parseBytes(text: string | number): number | undefined {
  if (typeof text === "number") return Number.isFinite(text) && text >= 0 ? Math.round(text) : undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(text.trim());
  if (!m) return undefined;
  const unit = BYTE_UNITS[m[2]!.toLowerCase()];
  return unit === undefined ? undefined : Math.round(Number(m[1]) * unit);
}

/** Formats milliseconds the way people write them in config: 7200000 → "2h", 5400000 → "1h30m". */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  if (rest > 0) parts.push(`${rest}ms`);
  return parts.join("");
}

/** Formats bytes in the largest unit that divides them exactly, binary or decimal (2 GiB, 2 GB, 1536 MiB). */
export function formatBytes(bytes: number): string {
  const units = [
    ["TiB", 1024 ** 4], ["TB", 1e12], ["GiB", 1024 ** 3], ["GB", 1e9],
    ["MiB", 1024 ** 2], ["MB", 1e6], ["KiB", 1024], ["kB", 1e3],
  ] as const;
  for (const [unit, size] of units) if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  for (const [unit, size] of units) if (bytes >= size && unit.endsWith("B") && !unit.includes("i")) return `${Number((bytes / size).toFixed(2))} ${unit}`;
  return `${bytes} B`;
}

/** zod: a duration written as text or seconds, parsed to milliseconds. */
export const durationSchema = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === undefined) {
    ctx.addIssue({ code: "custom", message: `"${value}" is not a duration (examples: 90s, 2h, 1h30m)` });
    return z.NEVER;
  }
  return ms;
});

/** zod: a byte size written as text or a number of bytes, parsed to bytes. */
export const bytesSchema = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const bytes = parseBytes(value);
  if (bytes === undefined) {
    ctx.addIssue({ code: "custom", message: `"${value}" is not a size (examples: 2GiB, 2GB, 512Mi)` });
    return z.NEVER;
  }
  return bytes;
});
