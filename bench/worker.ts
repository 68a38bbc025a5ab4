// Benchmark worker: the realistic handler of issue 7 (5 outbound fetches, 2 KV reads, 1 D1 query,
// 1 fluxHost call, randomUUID, Date, a 2 KB JSON response), wrapped or not by an esbuild define.
import { fluxHost, withFlux } from "fluxrun";

declare const __WRAPPED__: boolean;
declare const __NULL_SINK__: boolean;

interface Env {
  UPSTREAM: string;
  KV: KVNamespace;
  DB: D1Database;
}

const filler = "x".repeat(1500);

const handler = {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/ping") return Response.json({ ok: true, filler });
    const parts = await Promise.all(
      [1, 2, 3, 4, 5].map(
        async (i) => (await fetch(`${env.UPSTREAM}/item/${i}`)).json() as Promise<{ n: number }>,
      ),
    );
    const [a, b] = await Promise.all([env.KV.get("config", "json"), env.KV.get("flags")]);
    const row = await env.DB.prepare("SELECT 1 AS one, ? AS id")
      .bind(url.searchParams.get("id") ?? "x")
      .first();
    const score = await fluxHost.call("scoring.score", [parts.length], async () => ({
      score: parts.length * 7,
    }));
    return Response.json({
      id: crypto.randomUUID(),
      at: new Date().toISOString(),
      parts,
      a,
      b,
      row,
      score,
      filler,
    });
  },
};

// With __NULL_SINK__ the sealed trace is handed to a sink that drops it: FluxRun's own CPU,
// without the local R2 simulator's (in production R2 writes run outside the worker).
const nullSink = { name: "null", write: async () => {} };
export default __WRAPPED__
  ? withFlux(handler, { app: "bench", ...(__NULL_SINK__ ? { sink: nullSink } : {}) })
  : handler;
