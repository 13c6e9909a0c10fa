/** Human-readable numbers for the dashboard: bytes, durations, times. */

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return "unknown";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** "1 h 5 min", "3 min", "45 s". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return m > 0 ? `${h} h ${m} min` : `${h} h`;
  if (m > 0) return `${m} min`;
  return `${s} s`;
}

/** "5 min ago", "just now", or the date for older times. */
export function formatAgo(iso: string | null, now: number): string {
  if (!iso) return "never";
  const then = Date.parse(iso);
  const seconds = (now - then) / 1000;
  if (seconds < 30) return "just now";
  if (seconds < 86_400) return `${formatDuration(seconds)} ago`;
  return new Date(then).toLocaleString();
}

export function formatDate(iso: string | null): string {
  return iso ? new Date(iso).toLocaleString() : "never";
}
