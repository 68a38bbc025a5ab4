/**
 * Miniflare's Node-side binding stubs (`getD1Database`, `getR2Bucket`, ...), made safe to call
 * under load.
 *
 * Each stub stands for an object in workerd's heap; when the stub is garbage collected, Miniflare
 * frees that object (a batched request 100 ms later). Calling a method does not keep the stub
 * itself alive (`db.prepare(sql).bind(x).first()` drops the statement stub as soon as `.first` is
 * looked up), so on a loaded machine the free can reach workerd before the call does, and workerd
 * answers the call with an `AssertionError` (its heap slot is gone). {@link pinned} keeps every
 * stub reachable until each call made on it settles, and pins the stubs calls return.
 */
import { types } from "node:util";

const raw = new WeakMap<object, object>();

function unpin(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unpin);
  return (typeof value === "object" || typeof value === "function") && value !== null
    ? (raw.get(value) ?? value)
    : value;
}

function pinIfStub(value: unknown): unknown {
  return (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    types.isProxy(value)
    ? pinned(value)
    : value;
}

/**
 * A stub whose calls keep it (and the stubs they return) alive until they settle.
 *
 * @example
 * ```ts
 * const db = pinned((await mf.getD1Database("DB")) as unknown as D1Database);
 * ```
 */
export function pinned<T extends object>(stub: T): T {
  if (raw.has(stub)) return stub;
  const wrapper = new Proxy(stub, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key);
      if (typeof value !== "function") return pinIfStub(value);
      return (...args: unknown[]) => {
        const passed = args.map(unpin);
        const result: unknown = Reflect.apply(value, target, passed);
        if (result instanceof Promise) {
          // `target`, and the stubs passed in (`db.batch([statement, …])`), stay reachable from
          // this callback until the call has settled.
          return result.then((v) => (void target, void passed, pinIfStub(v)));
        }
        return pinIfStub(result);
      };
    },
  });
  raw.set(wrapper, stub);
  return wrapper;
}
