import type { ReactElement } from "react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import { RouterProvider } from "../src/lib/router";

/** Renders `ui` with a fresh query client (no retries) and a router that records where it was sent. */
export function renderWithProviders(ui: ReactElement, path = "/hub/home") {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } });
  const navigations: string[] = [];
  const result = render(
    <QueryClientProvider client={client}>
      <RouterProvider value={{ path, navigate: (to) => navigations.push(to) }}>{ui}</RouterProvider>
    </QueryClientProvider>,
  );
  return { ...result, navigations, client };
}

/** A fetch that answers each path with a JSON body (this is the hub's neighbour in unit tests, not the subject). */
export function jsonFetch(routes: Record<string, { status?: number; body: unknown }>) {
  const calls: { url: string; init?: RequestInit }[] = [];
  const fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input);
    calls.push({ url, init });
    const key = Object.keys(routes).find((k) => url.startsWith(k));
    if (!key) return new Response(JSON.stringify({ status: 404, message: `no route ${url}`, error: "not_found" }), { status: 404 });
    const { status = 200, body } = routes[key]!;
    return new Response(body === undefined ? "" : JSON.stringify(body), { status });
  };
  return { fetch, calls };
}
