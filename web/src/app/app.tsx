import { useEffect } from "react";
import { ErrorAlert } from "../components/error-alert";
import { ApiError, signInUrl } from "../lib/api-client";
import { useUser } from "../features/servers";
import { AppProvider } from "./provider";
import { Layout } from "./layout";
import { RouterProvider, ROUTES, Link, usePath, useRouterState } from "./router";
import { HomeRoute } from "./routes/home";
import { TokensRoute } from "./routes/tokens";

const TITLES: Record<string, string> = { [ROUTES.home]: "Home", [ROUTES.tokens]: "API tokens" };

function Pages() {
  const path = usePath();
  const user = useUser();
  const signedOut = user.error instanceof ApiError && (user.error.status === 401 || user.error.status === 403);
  useEffect(() => {
    if (signedOut) location.assign(signInUrl());
  }, [signedOut]);
  const title = TITLES[path] ?? "Not found";
  return (
    <Layout title={title} user={user.data?.name}>
      {user.isPending ? (
        <p role="status">Loading…</p>
      ) : !user.data ? (
        <ErrorAlert error={user.error} />
      ) : path === ROUTES.home ? (
        <HomeRoute user={user.data} />
      ) : path === ROUTES.tokens ? (
        <TokensRoute user={user.data.name} />
      ) : (
        <p>
          There is no page here. <Link href={ROUTES.home}>Go home</Link>.
        </p>
      )}
    </Layout>
  );
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
