/**
 * Global fetch: every request and response (or network error) the handler makes.
 * @module
 */
import { currentSession, runInSession } from "../internal/session.js";
import { fetch as originalFetch } from "../originals.js";
import { captureSite } from "../internal/site.js";
import type { GlobalBoundary } from "./_boundary.js";
import { httpExchange, httpTarget } from "./http.js";

function fluxFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const session = currentSession();
  if (!session) return originalFetch(input, init);
  let request: Request;
  try {
    request = new Request(input, init);
  } catch (err) {
    return Promise.reject(err);
  }
  if (request.headers.get("upgrade")?.toLowerCase() === "websocket") {
    session.note("unsupported", "websocket", httpTarget(request.url), null);
    return runInSession(undefined, () => originalFetch(request));
  }
  return httpExchange(session, {
    kind: "fetch",
    target: httpTarget(request.url),
    request,
    site: session.sampled ? captureSite(fluxFetch) : undefined,
    // The host's own fetch may read the clock (Node's does): outside the session, so those
    // reads are not the handler's.
    live: (r) => runInSession(undefined, () => originalFetch(r)),
  });
}

export const fetchBoundary: GlobalBoundary = {
  name: "fetch",
  install() {
    globalThis.fetch = fluxFetch as typeof fetch;
  },
};
