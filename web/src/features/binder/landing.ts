import type { LandingTarget } from "./types";

/** The URL to open once the server runs: its base URL plus BinderHub's `urlpath`, `labpath` or `filepath`. */
export function landingUrl(serverUrl: string, target: LandingTarget): string {
  const base = serverUrl.endsWith("/") ? serverUrl : `${serverUrl}/`;
  const clean = (p: string) => p.replace(/^\/+/, "");
  if (target.urlpath) return base + clean(target.urlpath);
  const file = target.labpath ?? target.filepath;
  if (file) return `${base}lab/tree/${clean(file).split("/").map(encodeURIComponent).join("/")}`;
  return base;
}

/** Reads the landing target from a launch URL's query. */
export function targetFromSearch(search: string): LandingTarget {
  const q = new URLSearchParams(search);
  const pick = (name: string) => q.get(name) || undefined;
  return { urlpath: pick("urlpath"), labpath: pick("labpath"), filepath: pick("filepath") };
}
