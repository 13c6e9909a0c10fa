import { defineConfig } from "vitest/config";

// Tests start real Jupyter servers and a real PostgreSQL; on 2 cores they run one file at a time.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // On a real cluster, in their own suite (scripts/test-kubernetes.sh, vitest.kubernetes.config.ts).
    exclude: ["test/kubernetes/**", "**/node_modules/**"],
    pool: "forks",
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ["default"],
  },
});
