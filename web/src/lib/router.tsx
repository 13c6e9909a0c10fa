import { createContext, useCallback, useContext, useEffect, useState, type AnchorHTMLAttributes, type MouseEvent } from "react";

/**
 * A tiny router over location.pathname with the History API: the dashboard has a handful of pages, each a real URL
 * the hub also serves (server/src/http/dashboard.ts), so reloading or sharing a page works.
 */
export const ROUTES = {
  home: "/hub/home",
  tokens: "/hub/tokens",
  admin: "/hub/admin",
  signIn: "/hub/login",
} as const;

/** JupyterHub's page for a start under way: /hub/spawn-pending/<user>[/<server>]. */
export function spawnPendingPath(user: string, server: string): string {
  return `/hub/spawn-pending/${encodeURIComponent(user)}${server ? `/${encodeURIComponent(server)}` : ""}`;
}

export type Route =
  | { page: "home" | "tokens" | "admin" | "sign-in" }
  | { page: "spawn-pending"; user: string; server: string }
  | { page: "launch"; spec: string }
  | { page: "not-found" };

/** Which page a path shows. */
export function matchRoute(path: string): Route {
  const clean = path.length > 1 ? path.replace(/\/+$/, "") : path;
  if (clean === ROUTES.home || clean === "/hub") return { page: "home" };
  if (clean === ROUTES.tokens) return { page: "tokens" };
  if (clean === ROUTES.admin) return { page: "admin" };
  if (clean === ROUTES.signIn) return { page: "sign-in" };
  // BinderHub's launch links: /v2/<provider>/<spec> (the spec keeps its own escaping).
  if (path.startsWith("/v2/") && path.length > 4) return { page: "launch", spec: path.slice(4) };
  const spawn = /^\/hub\/spawn-pending\/([^/]+)(?:\/([^/]+))?$/.exec(clean);
  if (spawn) {
    try {
      return { page: "spawn-pending", user: decodeURIComponent(spawn[1]!), server: decodeURIComponent(spawn[2] ?? "") };
    } catch {
      return { page: "not-found" };
    }
  }
  return { page: "not-found" };
}

const RouterContext = createContext<{ path: string; navigate: (to: string) => void }>({ path: "/", navigate: () => undefined });

export function useRouterState() {
  const [path, setPath] = useState(() => {
    // The hub serves the dashboard at /hub/ too: that is Home.
    if (location.pathname === "/hub/" || location.pathname === "/hub") history.replaceState(null, "", ROUTES.home);
    return location.pathname;
  });
  useEffect(() => {
    const onPop = () => setPath(location.pathname);
    addEventListener("popstate", onPop);
    return () => removeEventListener("popstate", onPop);
  }, []);
  const navigate = useCallback((to: string) => {
    history.pushState(null, "", to);
    setPath(new URL(to, location.href).pathname);
    scrollTo(0, 0);
  }, []);
  return { path, navigate };
}

export const RouterProvider = RouterContext.Provider;

export function usePath(): string {
  return useContext(RouterContext).path;
}

export function useNavigate(): (to: string) => void {
  return useContext(RouterContext).navigate;
}

/** A link inside the dashboard: a real <a> (works with the keyboard, new tabs), navigated without a reload. */
export function Link({ href, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const { path, navigate } = useContext(RouterContext);
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(href);
  };
  return <a href={href} aria-current={path === href ? "page" : undefined} onClick={onClick} {...rest} />;
}
