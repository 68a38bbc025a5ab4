/**
 * The conformance worker for workerd: its bundle, a wrangler config without the secret, and a warm
 * Replayer. Shared by the workerd suite and the cross-runtime check of Deno-recorded traces.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleWorker } from "../../src/harness/bundle.js";
import { Replayer } from "../../src/harness/replay.js";

export const WORKER = new URL("./fixtures/worker.ts", import.meta.url).pathname;
export const COMPAT = { compatibilityDate: "2026-04-20", compatibilityFlags: ["nodejs_compat"] };

/** A wrangler config for the conformance worker, without the secret. */
export async function conformanceConfig(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "fluxrun-conformance-"));
  const path = join(dir, "wrangler.toml");
  await writeFile(
    path,
    `name = "conformance"
main = ${JSON.stringify(WORKER)}
compatibility_date = "${COMPAT.compatibilityDate}"
compatibility_flags = ["nodejs_compat"]

[[r2_buckets]]
binding = "FLUX_TRACES"
bucket_name = "traces"
`,
  );
  return path;
}

/** A warm Replayer for the conformance worker. */
export async function conformanceReplayer(): Promise<Replayer> {
  return Replayer.start({ config: await conformanceConfig(), script: await bundleWorker(WORKER) });
}
