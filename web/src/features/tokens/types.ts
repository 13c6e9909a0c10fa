/** The hub's token models (server/openapi.yaml: `Token`, `NewToken`). */
export interface Token {
  id: string;
  note: string;
  prefix: string;
  created: string;
  expires_at: string | null;
  last_activity: string | null;
}

export interface NewToken extends Token {
  token: string;
}
