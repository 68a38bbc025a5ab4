/**
 * The conformance suite on workerd: record the handler set wrapped with the Workers `withFlux` in
 * Miniflare (traces in an in-memory R2 bucket), replay with the harness's Replayer (outbound
 * network refused, no secret bound).
 */
import { nodeR2, withNodeBindings } from "../_miniflare.js";
import { afterAll, it } from "vitest";
import { Miniflare } from "miniflare";
import { bundleWorker } from "../../src/harness/bundle.js";
import type { Replayer } from "../../src/harness/replay.js";
import { COMPAT, WORKER, conformanceReplayer } from "./_workerd.js";
import { runConformance, type RuntimeUnderTest } from "./suite.js";

let replayer: Promise<Replayer> | undefined;
afterAll(async () => {
  await (await replayer)?.dispose();
});

const workerd: RuntimeUnderTest = {
  name: "workerd",
  async record({ publicJwk, secret }) {
    const mf = new Miniflare(
      await withNodeBindings({
        modules: [{ type: "ESModule", path: "worker.js", contents: await bundleWorker(WORKER) }],
        ...COMPAT,
        bindings: { FLUX_PUBLIC_KEY: JSON.stringify(publicJwk), CONFORMANCE_SECRET: secret },
        r2Buckets: ["FLUX_TRACES"],
      }),
    );
    await mf.ready;
    return {
      async fetch(path, init) {
        const res = await mf.dispatchFetch(`http://app.test${path}`, init as never);
        return res as unknown as Response;
      },
      async traces(n) {
        const bucket = nodeR2(mf, "FLUX_TRACES");
        for (let i = 0; i < 400; i++) {
          const list = await bucket.list();
          if (list.objects.length >= n) {
            return Promise.all(
              list.objects.map(async (o) => {
                const obj = await bucket.get(o.key);
                return new Uint8Array(await obj!.arrayBuffer());
              }),
            );
          }
          await new Promise((r) => setTimeout(r, 25));
        }
        throw new Error(`Expected ${n} traces in R2`);
      },
      close: () => mf.dispose(),
    };
  },
  async replay(bytes, privateJwk) {
    replayer ??= conformanceReplayer();
    return (await replayer).replay(bytes, privateJwk);
  },
};

runConformance(workerd, (name, fn) => it(name, fn));
