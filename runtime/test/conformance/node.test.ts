/**
 * The conformance suite on Node: record through `node:http` + `toNodeListener(withFlux(...))`
 * from `fluxrun/node` into an `fsSink`, replay in this process with the secret removed.
 */
import { createServer } from "node:http";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "vitest";
import { flush, fsSink, replayTrace, toNodeListener, withFlux } from "fluxrun/node";
import { openTrace } from "fluxrun/trace";
import handlers from "./handlers.js";
import { runConformance, type RuntimeUnderTest } from "./suite.js";

export const nodeRuntime: RuntimeUnderTest = {
  name: "node",
  async record({ publicJwk, secret }) {
    process.env.CONFORMANCE_SECRET = secret;
    const dir = await mkdtemp(join(tmpdir(), "fluxrun-node-"));
    const handler = withFlux(handlers, {
      app: "conformance",
      sink: fsSink(dir),
      publicKey: publicJwk,
    });
    const server = createServer(
      toNodeListener(handler, {
        onError: () => new Response("Internal Server Error", { status: 500 }),
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    return {
      fetch: (path, init) => fetch(`http://127.0.0.1:${port}${path}`, init),
      async traces(n) {
        await flush();
        const files = (await readdir(dir, { recursive: true }))
          .filter((f) => f.endsWith(".cbor"))
          .sort();
        if (files.length < n) throw new Error(`Expected ${n} traces, found ${files.length}`);
        return Promise.all(files.map(async (f) => new Uint8Array(await readFile(join(dir, f)))));
      },
      async close() {
        delete process.env.CONFORMANCE_SECRET;
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  async replay(bytes, privateJwk) {
    // Replay needs no production secret: fluxENV is served from the trace.
    delete process.env.CONFORMANCE_SECRET;
    return replayTrace(handlers, await openTrace(bytes, privateJwk));
  },
};

runConformance(nodeRuntime, (name, fn) => it(name, fn));
