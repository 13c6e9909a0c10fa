/** Who is making a request, and how they proved it. */
export interface Principal {
  userId: number;
  name: string;
  admin: boolean;
  /** "cookie": a browser session (needs XSRF proof for writes); "token": an API token (scripts, services). */
  via: "cookie" | "token";
  sessionId?: string;
  tokenId?: number;
}
