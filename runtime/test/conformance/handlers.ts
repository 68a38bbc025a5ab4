/**
 * The conformance handler set: one web-standard `{ fetch(request) }` handler that touches each
 * boundary the suite checks. It runs unchanged under the Workers, Deno and Node `withFlux`. The
 * upstream's address travels in the `up` query parameter, so the recorded request carries it and
 * no runtime-specific configuration is needed.
 */
import { fluxENV, fluxHost } from "fluxrun";

async function upstreamJson(res: Response): Promise<unknown> {
  return { status: res.status, body: (await res.json()) as unknown };
}

const routes: Record<string, (request: Request, up: string) => Promise<Response>> = {
  async "/fetch"(_request, up) {
    const res = await fetch(`${up}/data?x=1`, { headers: { accept: "application/json" } });
    return Response.json({ upstream: await upstreamJson(res) });
  },
  async "/host"(_request, up) {
    // The host call's own code reaches the upstream: replay must return the result without it.
    const result = await fluxHost.call("sdk.lookup", [{ id: 7 }], async () => {
      const res = await fetch(`${up}/host-fn`);
      return { id: 7, upstream: await upstreamJson(res) };
    });
    return Response.json({ result });
  },
  async "/env"() {
    const secret = fluxENV.get("CONFORMANCE_SECRET");
    const missing = fluxENV.get("CONFORMANCE_MISSING");
    return Response.json({ set: secret !== undefined, length: secret?.length ?? 0, missing });
  },
  async "/time"() {
    return Response.json({
      now: Date.now(),
      iso: new Date().toISOString(),
      perf: performance.now(),
      random: Math.random(),
      uuid: crypto.randomUUID(),
      bytes: [...crypto.getRandomValues(new Uint8Array(8))],
    });
  },
  async "/throw"() {
    throw new TypeError("conformance boom");
  },
  async "/post"(request, up) {
    const body = await request.text();
    const res = await fetch(`${up}/charge`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    return Response.json(
      { received: body.length, upstream: await upstreamJson(res) },
      { status: 201 },
    );
  },
  async "/neterr"() {
    try {
      await fetch("http://127.0.0.1:9/closed");
      return new Response("reached");
    } catch (err) {
      return new Response(`network error: ${(err as Error).name}`, { status: 502 });
    }
  },
};

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const route = routes[url.pathname];
    if (!route) return new Response("not found", { status: 404 });
    return route(request, url.searchParams.get("up") ?? "http://127.0.0.1:9");
  },
};
