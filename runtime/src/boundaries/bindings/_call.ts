/**
 * Small helpers shared by binding kinds: bodies as bytes, streams from bytes, and detection that
 * never mistakes an RPC stub for a binding with methods.
 * @module
 */
import { readStream, toBytes } from "../../internal/values.js";

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

/**
 * A value to store, read once: strings stay strings, streams, blobs and buffers become bytes (the
 * bytes are then what the real binding receives), anything else is returned as is.
 */
export async function bodyData(value: unknown): Promise<unknown> {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return value;
  if (value instanceof ReadableStream) {
    return readStream(value as ReadableStream<Uint8Array>, Infinity);
  }
  if (value instanceof Blob) return new Uint8Array(await value.arrayBuffer());
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
    return toBytes(value as ArrayBuffer).slice();
  }
  return value;
}
