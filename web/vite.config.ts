import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// Served by the hub under /hub/ (server/src/http/pages.ts): assets at /hub/assets/, index.html for the dashboard's routes.
export default defineConfig({
  base: "/hub/",
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true },
  server: { proxy: { "/hub/api": "http://127.0.0.1:8000", "/hub/login": "http://127.0.0.1:8000" } },
});
