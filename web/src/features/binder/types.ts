/** BinderHub's build phases, in the order a launch goes through them (`failed` can end any of them). */
export const PHASES = ["waiting", "fetching", "building", "pushing", "built", "launching", "ready"] as const;
export type Phase = (typeof PHASES)[number] | "failed";

/** One event of `GET /build/<provider>/<spec>` (BinderHub's event stream; server/openapi.yaml `BuildEvent`). */
export interface BuildEvent {
  phase: Phase;
  message?: string;
  /** On `ready`: the server's URL (the hub's proxy injects the token, so none is sent). */
  url?: string;
  imageName?: string;
}

/** `GET /hub/api/binder/launch-link`: what the form's input launches, and how to share it. */
export interface LaunchLink {
  spec: string;
  launch_path: string;
  launch_url: string;
  badge_markdown: string;
}

/** Where to land in the server once it runs (BinderHub's query parameters of /v2/…). */
export interface LandingTarget {
  urlpath?: string;
  labpath?: string;
  filepath?: string;
}
