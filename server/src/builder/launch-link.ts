/**
 * Shareable launch links and badges, BinderHub-compatible: `/v2/<spec>` starts a build-and-launch, and `urlpath`
 * (or `labpath`, a file to open in JupyterLab) says where to land once the server runs.
 */
import type { PastedRepo } from "./paste.js";
import type { RepoSpec } from "./repo-spec.js";

export interface LaunchTarget {
  /** A URL path inside the server to open, e.g. "lab/tree/index.ipynb". */
  urlpath?: string;
  /** A file to open in JupyterLab, e.g. "index.ipynb" (BinderHub's `labpath`). */
  labpath?: string;
}

/** `/v2/gh/owner/repo/main?urlpath=…`, relative to the hub's public URL. */
export function launchPath(spec: Pick<RepoSpec, "spec"> | string, target: LaunchTarget = {}): string {
  const path = `/v2/${typeof spec === "string" ? spec : spec.spec}`;
  const query = new URLSearchParams();
  if (target.urlpath) query.set("urlpath", target.urlpath);
  if (target.labpath) query.set("labpath", target.labpath);
  const qs = query.toString();
  return qs ? `${path}?${qs}` : path;
}

/** The absolute launch URL under the hub's public URL (which may itself have a path prefix). */
export function launchUrl(hubUrl: string, spec: Pick<RepoSpec, "spec"> | string, target: LaunchTarget = {}): string {
  return `${hubUrl.replace(/\/+$/, "")}${launchPath(spec, target)}`;
}

/** Markdown for a README badge: the badge image links to the launch URL. */
export function badgeMarkdown(launch: string, badgeImageUrl: string, label = "Binder"): string {
  const text = label.replace(/[[\]\\]/g, "\\$&");
  return `[![${text}](${badgeImageUrl})](${launch})`;
}

/**
 * Where the Binder form's launch lands: its "path to open" field (a file for JupyterLab, or a URL path inside the
 * server when it starts with "/"), else the file or folder the pasted page link pointed at, else the server's root.
 */
export function formTarget(path: string | undefined, pasted: Pick<PastedRepo, "filepath" | "urlpath">): LaunchTarget {
  const given = path?.trim();
  if (given) return given.startsWith("/") ? { urlpath: given.slice(1) } : { labpath: given };
  if (pasted.filepath) return { labpath: pasted.filepath };
  if (pasted.urlpath) return { urlpath: `lab/tree/${pasted.urlpath}` };
  return {};
}
