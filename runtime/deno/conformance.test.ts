/**
 * The conformance suite on Deno: record through `Deno.serve(withFlux(...))` from `fluxrun/deno`
 * into an `fsSink`, replay in this process. Run by `deno task test` (and by vitest through
 * runtime/test/conformance/deno.test.ts). Traces and keys live in $FLUXRUN_CONFORMANCE_DIR when
 * set (the vitest wrapper then replays them with `deno task replay` and in Miniflare), else in a
 * fresh directory under .tmp-conformance/ that is removed afterwards.
 */
import { flush, fsSink, replayTrace, withFlux } from "fluxrun/deno";
import { openTrace, parsePrivateJwk, parsePublicJwk } from "fluxrun/trace";
import handlers from "../test/conformance/handlers.ts";
import { runConformance, type RuntimeUnderTest } from "../test/conformance/suite.ts";

const given = Deno.env.get("FLUXRUN_CONFORMANCE_DIR");
const dir = given ?? `.tmp-conformance/deno-${crypto.randomUUID()}`;
await Deno.mkdir(`${dir}/traces`, { recursive: true });
const keys = given
  ? {
      publicJwk: parsePublicJwk(await Deno.readTextFile(`${dir}/public.jwk`)),
      privateJwk: parsePrivateJwk(await Deno.readTextFile(`${dir}/private.jwk`)),
    }
  : undefined;

async function walk(path: string, out: string[] = []): Promise<string[]> {
  for await (const e of Deno.readDir(path)) {
    if (e.isDirectory) await walk(`${path}/${e.name}`, out);
    else if (e.name.endsWith(".cbor")) out.push(`${path}/${e.name}`);
  }
  return out;
}

const deno: RuntimeUnderTest = {
  name: "deno",
  async record({ publicJwk, secret }) {
    Deno.env.set("CONFORMANCE_SECRET", secret);
    const server = Deno.serve(
      {
        hostname: "127.0.0.1",
        port: 0,
        onListen() {},
        onError: () => new Response("Internal Server Error", { status: 500 }),
      },
      withFlux(handlers, { app: "conformance", sink: fsSink(dir), publicKey: publicJwk }),
    );
    const base = `http://127.0.0.1:${server.addr.port}`;
    return {
      fetch: (path, init) => fetch(`${base}${path}`, init),
      async traces(n) {
        await flush();
        const files = (await walk(`${dir}/traces`)).sort();
        if (files.length < n) throw new Error(`Expected ${n} traces, found ${files.length}`);
        return Promise.all(files.map((f) => Deno.readFile(f)));
      },
      async close() {
        await server.shutdown();
        if (!given) await Deno.remove(dir, { recursive: true });
      },
    };
  },
  async replay(bytes, privateJwk) {
    // Replay needs no production secret: fluxENV is served from the trace.
    Deno.env.delete("CONFORMANCE_SECRET");
    return replayTrace(handlers, await openTrace(bytes, privateJwk));
  },
};

runConformance(
  deno,
  (name, fn) => Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false }),
  keys ? { keys } : {},
);
