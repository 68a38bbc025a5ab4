/**
 * Bindings FluxRun cannot serve in replay (Durable Object namespaces, AI, Vectorize, sockets,
 * RPC stubs...). Every method call is recorded as `unsupported`; record mode still runs it live
 * (with `this` on the real binding), replay refuses it.
 * @module
 */
import { currentSession } from "../../internal/session.js";
import type { BindingBoundary } from "../_boundary.js";

export function unsupportedWrapper(binding: object, name: string): object {
  return new Proxy(binding, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== "function" || typeof prop !== "string") return value;
      return (...args: unknown[]) => {
        const session = currentSession();
        session?.note("unsupported", prop, name, null);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

export const unsupportedBinding: BindingBoundary = {
  name: "unsupported",
  matches: (v) => {
    const proto = Object.getPrototypeOf(v) as unknown;
    return proto !== Object.prototype && proto !== null && !Array.isArray(v);
  },
  wrap: unsupportedWrapper,
};
