export { AdminPage } from "./components/admin-page";
export type { AdminServer, AdminUser } from "./admin-user";
