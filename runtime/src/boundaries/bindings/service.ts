/**
 * Service bindings (Fetcher): `fetch` is an HTTP exchange with the bound worker; `connect` and
 * RPC methods are unsupported and recorded as such.
 * @module
 */
import { currentSession } from "../../internal/session.js";
import type { BindingBoundary } from "../_boundary.js";
import { httpExchange } from "../http.js";
import { hasMethods, isRpcStub } from "./_call.js";
import { unsupportedWrapper } from "./unsupported.js";

function wrapService(service: Fetcher, name: string): Fetcher {
  const fallback = unsupportedWrapper(service, name) as Record<string | symbol, unknown>;
  const fetchVia = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const session = currentSession();
    if (!session) return service.fetch(input as Request, init);
    return httpExchange(session, {
      kind: "binding",
      target: name,
      request: new Request(input, init),
      live: (r) => service.fetch(r),
    });
  };
  return new Proxy(fallback, {
    get(target, prop) {
      if (prop === "fetch") return fetchVia;
      return Reflect.get(target, prop) as unknown;
    },
  }) as unknown as Fetcher;
}

export const serviceBinding: BindingBoundary = {
  name: "service",
  matches: (v) =>
    typeof (v as { fetch?: unknown }).fetch === "function" &&
    (isRpcStub(v) || (hasMethods(v, "fetch") && !hasMethods(v, "idFromName"))),
  wrap: (binding, name) => wrapService(binding as Fetcher, name),
};
