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
    // Two files at a time (vitest's default on two cores is one). Node-side D1/R2/KV calls go
    // through runtime/test/_miniflare.ts, never Miniflare's synchronous proxy, which lost step
    // with its helper thread when two forks loaded the machine.
    maxWorkers: 2,
    env: { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
  },
});
