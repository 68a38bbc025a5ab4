// Variant "sentry": @sentry/cloudflare's withSentry, tracing every request (tracesSampleRate 1.0),
// its DSN pointed at the bench's loopback stub collector (SENTRY_DSN), which accepts and discards.
import * as Sentry from "@sentry/cloudflare";
import { benchHandler, plainCall, type BenchEnv } from "../app.js";

export default Sentry.withSentry(
  (env: BenchEnv & { SENTRY_DSN: string }) => ({
    dsn: env.SENTRY_DSN,
    tracesSampleRate: 1.0,
  }),
  benchHandler(plainCall) as ExportedHandler<BenchEnv & { SENTRY_DSN: string }>,
);
