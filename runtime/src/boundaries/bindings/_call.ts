/**
 * Shared plumbing for binding wrappers: run a method on the real binding (with `this` kept on it)
 * through the current session, or straight through when no session is active.
 * @module
 */
import { currentSession, type CallSpec } from "../../internal/session.js";

export type BindingCall<T> = Omit<CallSpec<T>, "kind" | "target" | "capture" | "revive"> & {
  capture?: CallSpec<T>["capture"];
  revive?: CallSpec<T>["revive"];
};

/** Records or replays one binding call; without a session it just runs `live`. */
export function bindingCall<T>(bindingName: string, spec: BindingCall<T>): Promise<T> {
  const session = currentSession();
  if (!session) return spec.live();
  return session.call<T>({
    capture: (value) => ({ value, data: value }),
    revive: (data) => data as T,
    ...spec,
    kind: "binding",
    target: bindingName,
  });
}

/**
 * True when `value` is an RPC stub (a service binding or Durable Object stub with JS RPC): those
 * answer any property name with a callable stub, so method probing would match every kind.
 */
export function isRpcStub(value: object): boolean {
  try {
    return typeof (value as Record<string, unknown>)["__fluxrun_probe__"] === "function";
  } catch {
    return false;
  }
}

/** True when every named member is a function on `value` (never for RPC stubs). */
export function hasMethods(value: object, ...names: string[]): boolean {
  return (
    !isRpcStub(value) &&
    names.every((n) => typeof (value as Record<string, unknown>)[n] === "function")
  );
}

/** A stream of the given bytes (a real ReadableStream). */
export function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes.slice());
      controller.close();
    },
  });
}
