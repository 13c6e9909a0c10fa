/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// Served by the hub under /hub/ (server/src/http/dashboard.ts): assets at /hub/assets/, index.html for the dashboard's
// routes. Unit tests run in jsdom; the end-to-end tests drive the built dashboard in Chromium (server/test/browser).
export default defineConfig({
  base: "/hub/",
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true },
  server: { proxy: { "/hub/api": "http://127.0.0.1:8000", "/hub/login": "http://127.0.0.1:8000" } },
  test: { environment: "jsdom", setupFiles: ["test/setup.ts"], include: ["test/**/*.test.{ts,tsx}"], restoreMocks: true, unstubGlobals: true },
});
