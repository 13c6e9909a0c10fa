/**
 * The user-server proxy. Typical wiring in the hub:
 *
 *   const routes = new RouteTable("/user/");
 *   const proxy = createUserProxy({ routes, authenticate, isAllowedOrigin, hubCookieNames, loginUrl,
 *                                   onActivity, notRunning, metrics, logger });
 *   app.use(proxy.middleware);                       // or ahead of Express in the "request" listener
 *   server.on("upgrade", (req, socket, head) => { if (!proxy.handleUpgrade(req, socket, head)) socket.destroy(); });
 *   // servers module: routes.add({ user, serverName, target, token }) when ready; routes.remove(user, name) on stop.
 */
export { createUserProxy, type UserProxy, type UserProxyTuning } from "./user-proxy.js";
export { RouteTable, routePrefix, escapePathSegment, type Route, type RouteSpec, type RouteMatch } from "./routes.js";
export type { ProxyIdentity, ProxyLogger, UserProxyOptions } from "./types.js";
export { SERVER_XSRF_COOKIE } from "./csrf.js";
