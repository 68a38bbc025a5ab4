/**
 * The boundary registry: the global patches, the binding kinds in detection order, and the env
 * wrapper that hands each binding to its kind.
 * @module
 */
import { currentSession } from "../internal/session.js";
import type { BindingBoundary, GlobalBoundary } from "./_boundary.js";
import { clockBoundary } from "./clock.js";
import { consoleBoundary } from "./console.js";
import { isFluxName, recordVarRead } from "./env.js";
import { fetchBoundary } from "./fetch.js";
import { randomBoundary } from "./random.js";
import { d1Binding } from "./bindings/d1.js";
import { kvBinding } from "./bindings/kv.js";
import { queueBinding } from "./bindings/queue.js";
import { r2Binding } from "./bindings/r2.js";
import { serviceBinding } from "./bindings/service.js";
import { unsupportedBinding } from "./bindings/unsupported.js";

export const GLOBAL_BOUNDARIES: readonly GlobalBoundary[] = [
  fetchBoundary,
  clockBoundary,
  randomBoundary,
  consoleBoundary,
];

/** Binding kinds, most specific first; the last one takes any other binding object. */
export const BINDING_BOUNDARIES: readonly BindingBoundary[] = [
  serviceBinding,
  d1Binding,
  r2Binding,
  kvBinding,
  queueBinding,
  unsupportedBinding,
];

let installed = false;

/** Installs every global patch once per isolate. */
export function installBoundaries(): void {
  if (installed) return;
  installed = true;
  for (const b of GLOBAL_BOUNDARIES) b.install();
}

/** The binding kind of an env value, or undefined for plain values. */
export function bindingKind(value: unknown): BindingBoundary | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  return BINDING_BOUNDARIES.find((b) => b.matches(value));
}

const wrappedEnvs = new WeakMap<object, object>();

/**
 * Wraps an env so every binding call and string var read goes through the current session.
 * Wrappers are made once per env object and binding; they find the session at call time.
 */
export function wrapEnv<E extends object>(env: E): E {
  let wrapped = wrappedEnvs.get(env);
  if (wrapped) return wrapped as E;
  const bindings = new Map<string | symbol, object>();
  wrapped = new Proxy(env, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof prop !== "string" || isFluxName(prop)) return value;
      if (typeof value === "string") {
        const session = currentSession();
        return session ? recordVarRead(session, prop, value) : value;
      }
      if (typeof value !== "object" || value === null) return value;
      let w = bindings.get(prop);
      if (!w) {
        const kind = bindingKind(value);
        w = kind ? kind.wrap(value, prop) : value;
        bindings.set(prop, w);
      }
      return w;
    },
  });
  wrappedEnvs.set(env, wrapped);
  return wrapped as E;
}
