import { defineConfig } from "vitest/config";

// The Kubernetes backend's tests, on the real cluster scripts/test-kubernetes.sh starts (not in the default suite).
export default defineConfig({
  test: {
    include: ["test/kubernetes/**/*.test.ts"],
    pool: "forks",
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 900_000,
    reporters: ["default"],
  },
});
