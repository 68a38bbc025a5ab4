// The bench workload (issue 7's realistic handler): 5 outbound fetches, 2 KV reads, 1 D1 query,
// 1 host call, randomUUID, Date and a ~2 KB JSON response. Every variant in variants/ wraps the
// same handler; only the host call differs (FluxRun's fluxHost.call in FluxRun variants, a plain
// call elsewhere), so a peer's bundle carries none of FluxRun.

export interface BenchEnv {
  UPSTREAM: string;
  KV: KVNamespace;
  DB: D1Database;
}

/** How the handler makes its one host call (an SDK client call in a real app). */
export type HostCall = <T>(name: string, args: unknown[], fn: () => Promise<T>) => Promise<T>;

const filler = "x".repeat(1500);

export function benchHandler(call: HostCall) {
  return {
    async fetch(request: Request, env: BenchEnv): Promise<Response> {
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
      const score = await call("scoring.score", [parts.length], async () => ({
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
}

/** The host call without any recorder. */
export const plainCall: HostCall = (_name, _args, fn) => fn();
