/** JupyterHub 5's sharing models (server/openapi.yaml: `Share`, `SharedServer`). */

export interface ShareServer {
  name: string;
  user: { name: string };
  url: string;
  ready?: boolean;
}

export interface Share {
  kind: "share";
  server: ShareServer;
  scopes: string[];
  user: { name: string } | null;
  group: { name: string } | null;
  created_at: string;
}

export interface SharedServer {
  server: ShareServer;
  scopes: string[];
  via: { kind: "user" | "group"; name: string };
  created_at: string;
}

export type ShareTarget = { user: string } | { group: string };
