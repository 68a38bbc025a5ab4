import { defineConfig } from "vitest/config";

// Browser end-to-end tests: `npx vitest run -c dashboard/e2e/vitest.config.ts`.
export default defineConfig({
  cacheDir: new URL("../../node_modules/.vite", import.meta.url).pathname,
  test: {
    root: new URL("..", import.meta.url).pathname,
    include: ["e2e/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    env: { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
  },
});
