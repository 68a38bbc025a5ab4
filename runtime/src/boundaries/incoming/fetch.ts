/**
 * Incoming HTTP requests: the request (method, URL, headers, body, `request.cf`) and the
 * response. An incoming WebSocket upgrade is recorded as unsupported: its messages are not.
 * @module
 */
import { HttpRequestShape } from "../../trace/_shapes.js";
import { buildRequest, fetchTrigger, httpTarget } from "../http.js";
import type { IncomingKind, UnsupportedUse } from "./_incoming.js";

function upgrade(request: Request, route: string): UnsupportedUse | undefined {
  return request.headers.get("upgrade")?.toLowerCase() === "websocket"
    ? { op: "websocket", target: route }
    : undefined;
}

function routeOf(request: Request, route?: (r: Request) => string): string {
  try {
    return route ? route(request) : new URL(request.url).pathname;
  } catch {
    return httpTarget(request.url);
  }
}

export const fetchIncoming: IncomingKind = {
  handler: "fetch",
  record([request], context) {
    const r = request as Request;
    const route = routeOf(r, context.route);
    const trigger = fetchTrigger(r, route);
    const unsupported = upgrade(r, route);
    return {
      trigger: {
        ...trigger,
        ...(context.entry === undefined ? {} : { entry: context.entry }),
        ...(unsupported ? { unsupported } : {}),
      } as typeof trigger,
      args: [request],
    };
  },
  revive(payload, context) {
    const request = buildRequest(HttpRequestShape(payload, ""));
    const unsupported = upgrade(request, routeOf(request, context.route));
    return { args: [request], ...(unsupported ? { unsupported } : {}) };
  },
};
