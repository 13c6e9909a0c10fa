import { useEffect } from "react";
import { ErrorAlert } from "../components/error-alert";
import { ApiError, signInUrl } from "../lib/api-client";
import { Link, matchRoute, RouterProvider, ROUTES, usePath, useRouterState, type Route } from "../lib/router";
import { SignInPage } from "../features/auth";
import { LaunchPage } from "../features/binder";
import { SpawnPage, useUser, type User } from "../features/servers";
import { AppProvider } from "./provider";
import { Layout } from "./layout";
import { AdminRoute } from "./routes/admin";
import { HomeRoute } from "./routes/home";
import { TokensRoute } from "./routes/tokens";

function titleOf(route: Route): string {
  switch (route.page) {
    case "home":
      return "Home";
    case "tokens":
      return "API tokens";
    case "admin":
      return "Administration";
    case "spawn-pending":
      return route.server ? `Server ${route.server}` : "Default server";
    case "launch":
      return "Launch";
    case "sign-in":
      return "Sign in";
    case "not-found":
      return "Not found";
  }
}

/** The pages of a signed-in person; a browser whose session ended is sent to sign in and back. */
function SignedInPages({ route }: { route: Exclude<Route, { page: "sign-in" }> }) {
  const user = useUser();
  const signedOut = user.error instanceof ApiError && (user.error.status === 401 || user.error.status === 403);
  useEffect(() => {
    if (signedOut) location.assign(signInUrl());
  }, [signedOut]);
  return (
    <Layout title={titleOf(route)} user={user.data}>
      {user.isPending ? <p role="status">Loading…</p> : !user.data ? <ErrorAlert error={user.error} /> : <Page route={route} user={user.data} />}
    </Layout>
  );
}

function Page({ route, user }: { route: Exclude<Route, { page: "sign-in" }>; user: User }) {
  switch (route.page) {
    case "home":
      return <HomeRoute user={user} />;
    case "tokens":
      return <TokensRoute user={user.name} />;
    case "admin":
      return user.admin ? <AdminRoute /> : <p>This page is for administrators.</p>;
    case "spawn-pending":
      return <SpawnPage user={route.user} server={route.server} />;
    case "launch":
      return <LaunchPage spec={route.spec} search={location.search} />;
    case "not-found":
      return (
        <p>
          There is no page here. <Link href={ROUTES.home}>Go home</Link>.
        </p>
      );
  }
}

function Pages() {
  const route = matchRoute(usePath());
  useEffect(() => {
    if (route.page === "sign-in") document.title = "Sign in · Ganymede";
  }, [route.page]);
  return route.page === "sign-in" ? <SignInPage /> : <SignedInPages route={route} />;
}

export function App() {
  const router = useRouterState();
  return (
    <AppProvider>
      <RouterProvider value={router}>
        <Pages />
      </RouterProvider>
    </AppProvider>
  );
}
