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
    // Two files at a time: most of a test's time is spent waiting on workerd, wrangler, chromium
    // and Node subprocesses, so on two cores two forks finish the suite in about half the time.
    maxWorkers: 2,
    env: { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
  },
});
