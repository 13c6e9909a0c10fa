/**
 * Counts answered requests by status without per-request label hashing: prom-client children are cached per status
 * code. Works with a counter that has a "status" label, or none (then it just counts).
 */
import type { Counter } from "prom-client";

export type StatusCounter = (status: number) => void;

export function createStatusCounter(counter: Counter<string> | undefined): StatusCounter {
  if (!counter) return () => undefined;
  // prom-client keeps the configured label names on the instance.
  const labelNames = (counter as unknown as { labelNames?: readonly string[] }).labelNames ?? [];
  if (!labelNames.includes("status")) return () => counter.inc();
  const children = new Map<number, { inc(): void }>();
  return (status) => {
    let child = children.get(status);
    if (!child) {
      child = counter.labels({ status: String(status) });
      children.set(status, child);
    }
    child.inc();
  };
}
