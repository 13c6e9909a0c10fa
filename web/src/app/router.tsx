import { createContext, useCallback, useContext, useEffect, useState, type AnchorHTMLAttributes, type MouseEvent } from "react";

/** The dashboard's pages; the hub serves index.html for each of these paths. */
export const ROUTES = { home: "/hub/home", tokens: "/hub/tokens" } as const;

const RouterContext = createContext<{ path: string; navigate: (to: string) => void }>({ path: "/", navigate: () => undefined });

/** A tiny router over location.pathname with the History API. */
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
    setPath(to);
    scrollTo(0, 0);
  }, []);
  return { path, navigate };
}

export const RouterProvider = RouterContext.Provider;

export function usePath(): string {
  return useContext(RouterContext).path;
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
