import { useEffect, useRef, type ReactNode } from "react";
import { Link, ROUTES } from "../lib/router";

/** The page frame: skip link, header with navigation and sign-out, and the main landmark (focused on navigation). */
export function Layout({ title, user, children }: { title: string; user?: { name: string; admin: boolean }; children: ReactNode }) {
  const heading = useRef<HTMLHeadingElement>(null);
  const first = useRef(true);
  useEffect(() => {
    document.title = `${title} · Ganymede`;
    if (first.current) first.current = false;
    else heading.current?.focus();
  }, [title]);
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Ganymede</span>
        <nav aria-label="Main">
          <Link href={ROUTES.home}>Home</Link>
          <Link href={ROUTES.tokens}>Tokens</Link>
          {user?.admin && <Link href={ROUTES.admin}>Admin</Link>}
        </nav>
        <span className="who">
          {user && <span>Signed in as {user.name}</span>} <a href="/hub/logout">Sign out</a>
        </span>
      </header>
      <main id="main">
        <h1 ref={heading} tabIndex={-1}>
          {title}
        </h1>
        {children}
      </main>
    </>
  );
}
