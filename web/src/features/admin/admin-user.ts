/**
 * The parts of the user and server models the admin pages read. The servers feature has the full models; features do
 * not import each other, and the app passes the servers feature's components in where the admin pages show actions.
 */
export interface AdminServer {
  name: string;
  status: "stopped" | "pending" | "running" | "stopping";
  ready: boolean;
  url: string;
  last_activity: string | null;
  last_error: string | null;
}

export interface AdminUser {
  name: string;
  admin: boolean;
  groups: string[];
  last_activity: string | null;
  named_server_limit: number;
  servers: Record<string, AdminServer>;
}
