export { useUser } from "./api/get-user";
export { ServerList } from "./components/server-list";
export type { User } from "./types";
