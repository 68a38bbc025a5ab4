/**
 * `fluxHost.call(name, args, fn)`: the RPC boundary for database and SDK clients. Record runs `fn`
 * and keeps args and result (or error); replay returns the recorded result and never calls `fn`.
 * @module
 */
import { currentSession } from "../internal/session.js";
import { recordable } from "../internal/values.js";
import { captureSite } from "../internal/site.js";

/**
 * The host-call boundary.
 *
 * @example
 * ```ts
 * const charge = await fluxHost.call("payments.charge", [{ amount }], () => sdk.charge({ amount }));
 * ```
 */
export const fluxHost = {
  /**
   * Runs `fn` as the named host call. `args` identify the call (replay compares them); they are
   * sealed in the trace.
   */
  call<T>(name: string, args: readonly unknown[], fn: () => T | Promise<T>): Promise<T> {
    if (typeof name !== "string" || name.length === 0) {
      throw new TypeError("fluxHost.call needs a non-empty call name");
    }
    if (!Array.isArray(args)) throw new TypeError("fluxHost.call needs its arguments as an array");
    if (typeof fn !== "function") throw new TypeError("fluxHost.call needs a function to run");
    const session = currentSession();
    if (!session) return Promise.resolve().then(fn);
    return session.call<T>({
      site: session.sampled ? captureSite(fluxHost.call) : undefined,
      kind: "host",
      op: "call",
      target: name,
      request: recordable([...args]),
      live: async () => fn(),
      nests: true,
      capture: (value) => ({ value, data: recordable(value) }),
      revive: (data) => data as T,
    });
  },
};
