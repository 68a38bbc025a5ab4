/**
 * The Cache API (`caches.default`, `caches.open(name)`): `match` is a read, `put` and `delete`
 * are writes. Replay serves matches from the trace and never writes, so no trace of a batch sees
 * another's cache state. The event target is the cache name (`default`).
 * @module
 */
import type { GlobalBoundary } from "./_boundary.js";
import { wrapWithTable, type OperationTable } from "./bindings/_table.js";
import { buildResponse, captureResponse } from "./http.js";
import type { HttpResponseData } from "../trace/schema.js";
import { headerPairs } from "../internal/values.js";

/** A cache key as data: method, URL and headers (cache keys have no body). */
function keyData(input: unknown): unknown {
  const r = new Request(input as RequestInfo);
  return { method: r.method, url: r.url, headers: headerPairs(r.headers) };
}

const TABLE: OperationTable = {
  kind: "cache",
  ops: {
    match: {
      type: "call",
      request: ({ args: [request, options] }) => ({
        request: { key: keyData(request), options: options ?? null },
      }),
      capture: (response, c) => (response ? captureResponse(response as Response, c.limit) : null),
      revive: (data, _c, live) =>
        live !== undefined ? live : data ? buildResponse(data as HttpResponseData) : undefined,
    },
    put: {
      type: "call",
      write: true,
      void: true,
      async request({ args: [request, response], limit }) {
        // The copy is read for the trace; the response itself goes to the real put untouched.
        const res = response as Response;
        const copy = res instanceof Response ? await captureResponse(res, limit) : null;
        return { request: { key: keyData(request), response: copy } };
      },
      capture: () => null,
      revive: () => undefined,
    },
    delete: {
      type: "call",
      write: true,
      request: ({ args: [request, options] }) => ({
        request: { key: keyData(request), options: options ?? null },
      }),
    },
  },
};

const wrapped = new WeakMap<object, object>();

function wrapCache(cache: Cache, name: string): Cache {
  let w = wrapped.get(cache);
  if (!w) {
    w = wrapWithTable(cache, TABLE, { binding: `cache:${name}`, target: name, state: undefined });
    wrapped.set(cache, w);
  }
  return w as Cache;
}

export const cacheBoundary: GlobalBoundary = {
  name: "cache",
  install() {
    const storage = (globalThis as { caches?: CacheStorage }).caches;
    if (!storage) return;
    const own = Object.getOwnPropertyDescriptor(storage, "default");
    const inherited = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(storage), "default");
    const open = storage.open;
    try {
      // workerd holds `default` as an own value; other hosts may have a getter, or none.
      if (own && "value" in own) {
        Object.defineProperty(storage, "default", {
          ...own,
          value: wrapCache(own.value as Cache, "default"),
        });
      } else if (own?.get ?? inherited?.get) {
        const get = (own?.get ?? inherited?.get)!;
        Object.defineProperty(storage, "default", {
          configurable: true,
          enumerable: own?.enumerable ?? false,
          get: () => wrapCache(get.call(storage) as Cache, "default"),
        });
      }
      Object.defineProperty(storage, "open", {
        configurable: true,
        writable: true,
        value: async (cacheName: string) => {
          const cache = (await Reflect.apply(open, storage, [cacheName])) as Cache;
          return wrapCache(cache, String(cacheName));
        },
      });
    } catch {
      // a host with a frozen CacheStorage keeps its own; FluxRun cannot record it there
    }
  },
};
