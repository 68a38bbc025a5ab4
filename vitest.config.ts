import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "runtime/test/**/*.test.ts",
      "runtime/src/**/*.test.ts",
      "worker/test/**/*.test.ts",
      "agent/test/**/*.test.ts",
      "dashboard/test/**/*.test.ts",
      "dashboard/e2e/**/*.test.ts",
      "bench/**/*.test.ts",
    ],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    env: { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
  },
});
