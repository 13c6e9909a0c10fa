export { useUser } from "./api/get-user";
export { ServerList } from "./components/server-list";
export { ServerActions } from "./components/server-actions";
export { ServerStatusBadge } from "./components/server-status-badge";
export { SpawnPage } from "./components/spawn-page";
export type { Server, User } from "./types";
