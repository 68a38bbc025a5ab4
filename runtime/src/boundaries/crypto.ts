/**
 * Host APIs FluxRun cannot replay, made loud: `crypto.subtle.generateKey` (its key material is
 * not in the trace) and `new WebSocketPair()` are recorded as `unsupported` when used and refused
 * in replay. Preflight makes each such event a blocker.
 * @module
 */
import { currentSession } from "../internal/session.js";
import type { GlobalBoundary } from "./_boundary.js";

export const cryptoBoundary: GlobalBoundary = {
  name: "crypto",
  install() {
    const subtle = (globalThis as { crypto?: Crypto }).crypto?.subtle;
    if (subtle) {
      const generateKey = subtle.generateKey;
      try {
        Object.defineProperty(subtle, "generateKey", {
          configurable: true,
          writable: true,
          value(this: unknown, ...args: unknown[]) {
            const alg = args[0] as { name?: unknown } | string | undefined;
            const name = typeof alg === "string" ? alg : String(alg?.name ?? "?");
            currentSession()?.note("unsupported", "generateKey", `crypto.subtle ${name}`, null);
            return Reflect.apply(generateKey, subtle, args) as unknown;
          },
        });
      } catch {
        // frozen on this host
      }
    }
    const g = globalThis as { WebSocketPair?: new () => unknown };
    const Pair = g.WebSocketPair;
    if (typeof Pair === "function") {
      g.WebSocketPair = new Proxy(Pair, {
        construct(target, args, newTarget) {
          currentSession()?.note("unsupported", "websocket", "WebSocketPair", null);
          return Reflect.construct(
            target,
            args,
            newTarget === g.WebSocketPair ? target : newTarget,
          ) as object;
        },
      });
    }
  },
};
