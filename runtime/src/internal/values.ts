/**
 * Small value helpers shared by boundaries: byte reading under a budget, error (de)serialisation,
 * structural equality, digests.
 * @module
 */
import { hex, sha256 } from "./_sha256.js";
import type { Body, ErrorData, Truncated, Unread } from "../trace/schema.js";
import { sameValue } from "../trace/_equal.js";

export { sameValue };

const enc = new TextEncoder();

export function toBytes(value: ArrayBuffer | ArrayBufferView | string): Uint8Array {
  if (typeof value === "string") return enc.encode(value);
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value))
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return new Uint8Array(value);
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  let hex = "";
  for (const b of digest) hex += b.toString(16).padStart(2, "0");
  return hex;
}

/** Keeps `bytes` if within `limit`, else a truncation marker with the size and digest. */
export async function fitBytes(bytes: Uint8Array, limit: number): Promise<Uint8Array | Truncated> {
  if (bytes.length <= limit) return bytes;
  return { truncated: true, size: bytes.length, sha256: await sha256Hex(bytes) };
}

/**
 * A string or bytes within `limit` bytes as they are, else a truncation marker with the size and
 * digest. Other values are returned unchanged.
 */
export function capped<T>(value: T, limit: number): T | Truncated {
  if (typeof value === "string") {
    if (value.length * 3 <= limit) return value;
    const bytes = enc.encode(value);
    return bytes.length <= limit ? value : marker(bytes);
  }
  if (value instanceof Uint8Array && value.length > limit) return marker(value);
  return value;
}

function marker(bytes: Uint8Array): Truncated {
  return { truncated: true, size: bytes.length, sha256: hex(sha256(bytes)) };
}

/**
 * Reads a body stream to the end, or stops at `limit` bytes and says so. Never throws: a stream
 * that errors yields what was read, marked truncated.
 */
export async function readStream(
  stream: ReadableStream<Uint8Array> | null,
  limit: number,
): Promise<Body> {
  if (!stream) return null;
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let complete = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        complete = true;
        break;
      }
      size += value.byteLength;
      if (size > limit) break;
      chunks.push(value);
    }
  } catch {
    complete = false;
  }
  if (!complete) {
    reader.cancel().catch(() => {});
    const seen = concat(chunks);
    return { truncated: true, size, sha256: await sha256Hex(seen) };
  }
  return concat(chunks);
}

export function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  let n = 0;
  for (const c of chunks) n += c.byteLength;
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

export function isTruncated(body: unknown): body is Truncated {
  return typeof body === "object" && body !== null && (body as Truncated).truncated === true;
}

/** True for the marker of a response body the app never read (`unreadBodies`). */
export function isUnread(body: unknown): body is Unread {
  return typeof body === "object" && body !== null && (body as Unread).unread === true;
}

export function errorData(err: unknown): ErrorData {
  if (typeof DOMException === "function" && err instanceof DOMException) {
    const out: ErrorData = { name: err.name, message: err.message, type: "DOMException" };
    if (err.stack) out.stack = err.stack;
    return out;
  }
  if (err instanceof Error) {
    const out: ErrorData = { name: err.name, message: err.message };
    if (err.stack) out.stack = err.stack;
    const code = (err as { code?: unknown }).code;
    if (typeof code === "string" || typeof code === "number") out.code = code;
    return out;
  }
  return { name: "NonError", message: safeString(err) };
}

const ERROR_CLASSES: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/** Rebuilds a recorded error with the same class (for built-ins), name, message, stack, code. */
export function reviveError(data: ErrorData): Error {
  if (data.type === "DOMException" && typeof DOMException === "function") {
    const err = new DOMException(data.message, data.name);
    if (data.stack !== undefined) {
      try {
        Object.defineProperty(err, "stack", { value: data.stack, configurable: true });
      } catch {
        // a host whose DOMException stack cannot be set keeps its own
      }
    }
    return err as unknown as Error;
  }
  const Ctor = ERROR_CLASSES[data.name] ?? Error;
  const err = new Ctor(data.message);
  if (!(data.name in ERROR_CLASSES)) err.name = data.name;
  if (data.stack !== undefined) err.stack = data.stack;
  if (data.code !== undefined) (err as { code?: unknown }).code = data.code;
  return err;
}

/** What stands in the trace for a value CBOR cannot hold (a function, a stub, a stream). */
export interface Unencodable {
  unencodable: string;
}

/**
 * True when `value` is within the trace's data model, so the reader gives back what was written:
 * null, undefined, booleans, numbers, strings, `Uint8Array`, `Date`, arrays and plain objects of
 * those. Maps, Sets, class instances, functions, BigInts, cycles and very deep values are not.
 */
export function inDataModel(value: unknown, depth = 0): boolean {
  if (value === null || value === undefined) return true;
  const t = typeof value;
  if (t === "string" || t === "boolean" || t === "number") return true;
  if (t !== "object" || depth > 48) return false;
  if (value instanceof Uint8Array || value instanceof Date) return true;
  if (Array.isArray(value)) {
    for (const v of value) if (!inDataModel(v, depth + 1)) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  for (const k in value) {
    if (!inDataModel((value as Record<string, unknown>)[k], depth + 1)) return false;
  }
  return true;
}

/** `value` when the trace can hold it, else an {@link Unencodable} marker naming its type. */
export function recordable(value: unknown): unknown {
  return inDataModel(value)
    ? value
    : ({ unencodable: Object.prototype.toString.call(value) } satisfies Unencodable);
}

export function isUnencodable(value: unknown): value is Unencodable {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Unencodable).unencodable === "string" &&
    Object.keys(value).length === 1
  );
}

/**
 * Variable names a bundler may rename (`env2` for `env`, `__name3`) with their trailing digits
 * removed, so a message read from another bundle of the same code compares equal. Property names
 * (after a dot) are never renamed, so `DB01` in `env2.DB01` stays as it is.
 */
function normalizeIdentifiers(message: string): string {
  return message.replace(/(^|[^.\w$])([A-Za-z_$][\w$]*?)\d+\b/g, "$1$2");
}

/**
 * Two recorded errors are the same when class and message match, the message compared with
 * identifiers normalised: the replay bundle may name a variable `env2` where production said
 * `env`.
 */
export function sameError(a: ErrorData | null, b: ErrorData | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.name !== b.name) return false;
  return (
    a.message === b.message || normalizeIdentifiers(a.message) === normalizeIdentifiers(b.message)
  );
}

export function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** Names of the top-level fields of two records that differ. */
export function changedFields(expected: unknown, actual: unknown): string[] {
  if (
    typeof expected !== "object" ||
    typeof actual !== "object" ||
    expected === null ||
    actual === null ||
    Array.isArray(expected) ||
    expected instanceof Uint8Array
  ) {
    return sameValue(expected, actual) ? [] : ["value"];
  }
  const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
  return [...keys].filter(
    (k) =>
      !sameValue((expected as Record<string, unknown>)[k], (actual as Record<string, unknown>)[k]),
  );
}

/** Header pairs in order; iteration yields each set-cookie on its own (Fetch standard). */
export function headerPairs(headers: Headers): [string, string][] {
  return [...(headers as unknown as Iterable<[string, string]>)];
}

/**
 * Reads a body in full when its declared length is within `limit` (one native call), else
 * through {@link readStream}, which stops at the limit.
 */
export async function readBody(
  message: {
    body: ReadableStream<Uint8Array> | null;
    headers: Headers;
    arrayBuffer(): Promise<ArrayBuffer>;
  },
  limit: number,
): Promise<Body> {
  if (!message.body) return null;
  const declared = Number(message.headers.get("content-length") ?? NaN);
  if (declared >= 0 && declared <= limit) {
    try {
      return new Uint8Array(await message.arrayBuffer());
    } catch {
      return { truncated: true, size: declared, sha256: "" };
    }
  }
  return readStream(message.body, limit);
}
