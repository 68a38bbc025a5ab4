// Variant "otel": @microlabs/otel-cf-workers' instrument, exporting OTLP/HTTP spans to the bench's
// loopback stub collector (OTEL_URL), which accepts and discards.
import { instrument, type ConfigurationOption } from "@microlabs/otel-cf-workers";
import { benchHandler, plainCall, type BenchEnv } from "../app.js";

// The resolver may return a partial config: the SDK parses it with its defaults.
const config = ((env: BenchEnv & { OTEL_URL: string }) => ({
  exporter: { url: env.OTEL_URL },
  service: { name: "bench" },
})) as unknown as ConfigurationOption;

export default instrument(benchHandler(plainCall) as ExportedHandler<BenchEnv>, config);
