/**
 * The wire between the Node-side test bindings (`_miniflare.ts`) and their executor worker in
 * workerd (`_miniflare-executor.ts`): JSON, with tags for what JSON cannot hold (bytes, dates,
 * `undefined`, non-finite numbers, headers, errors), so D1, R2 and KV arguments, results and errors
 * cross unchanged. Runs on both sides: web-standard APIs only.
 */

/** A JSON value. */
export type Wire = null | boolean | number | string | Wire[] | { [key: string]: Wire };

/** One statement built in Node: its SQL and bound values. */
export interface Statement {
  sql: string;
  params: unknown[];
}

/** One call for the executor: a D1, R2 or KV method on the binding `binding` of its worker. */
export type Call =
  | {
      kind: "d1";
      binding: string;
      op: "first" | "all" | "run" | "raw" | "batch" | "exec";
      statements: Statement[];
      args: unknown[];
    }
  | {
      kind: "r2";
      binding: string;
      op: "head" | "get" | "put" | "list" | "delete";
      args: unknown[];
    }
  | {
      kind: "kv";
      binding: string;
      op: "get" | "getWithMetadata" | "put" | "list" | "delete";
      args: unknown[];
    };

/** The executor's answer: the result, or the error the call threw. */
export type Reply = { ok: Wire } | { error: Wire };

const TAG = "~";

function toBase64(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function isPlain(value: object): value is Record<string, unknown> {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * `value` as JSON. Throws a TypeError for what it cannot carry (a stream, a class instance), so
 * nothing reaches the other side changed.
 *
 * @example
 * ```ts
 * JSON.stringify(toWire({ id: 1, blob: new Uint8Array([1, 2]) }));
 * ```
 */
export function toWire(value: unknown): Wire {
  if (value === undefined) return { [TAG]: "undefined" };
  if (value === null || typeof value === "boolean" || typeof value === "string") return value;
  if (typeof value === "number") {
    return Number.isFinite(value) ? value : { [TAG]: "number", v: String(value) };
  }
  if (typeof value !== "object") {
    throw new TypeError(`Cannot send a ${typeof value} to the test bindings executor`);
  }
  if (value instanceof Uint8Array) return { [TAG]: "u8", v: toBase64(value) };
  if (value instanceof ArrayBuffer) return { [TAG]: "ab", v: toBase64(new Uint8Array(value)) };
  if (value instanceof Date) return { [TAG]: "date", v: value.getTime() };
  if (value instanceof Headers) {
    const entries: Wire[] = [];
    value.forEach((v, k) => entries.push([k, v]));
    return { [TAG]: "headers", v: entries };
  }
  if (value instanceof Error) {
    return {
      [TAG]: "error",
      name: value.name,
      message: value.message,
      ...(value.cause === undefined ? {} : { cause: toWire(value.cause) }),
    };
  }
  if (Array.isArray(value)) return value.map(toWire);
  if (!isPlain(value)) {
    const kind = Object.prototype.toString.call(value);
    throw new TypeError(`Cannot send a ${kind} to the test bindings executor`);
  }
  const out: Record<string, Wire> = {};
  for (const [k, v] of Object.entries(value)) out[k] = toWire(v);
  return TAG in value ? { [TAG]: "object", v: out } : out;
}

function fromEntries(wire: Record<string, Wire>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(wire)) out[k] = fromWire(v);
  return out;
}

/**
 * The value {@link toWire} encoded (errors come back as Errors with their name and message).
 *
 * @example
 * ```ts
 * fromWire(toWire(new Date(0))); // Date(0)
 * ```
 */
export function fromWire(wire: Wire): unknown {
  if (wire === null || typeof wire !== "object") return wire;
  if (Array.isArray(wire)) return wire.map(fromWire);
  const tag = wire[TAG];
  if (tag === undefined) return fromEntries(wire);
  const v = wire["v"];
  switch (tag) {
    case "undefined":
      return undefined;
    case "number":
      return Number(v);
    case "u8":
      return fromBase64(String(v));
    case "ab":
      return fromBase64(String(v)).buffer;
    case "date":
      return new Date(Number(v));
    case "headers":
      return new Headers(v as [string, string][]);
    case "error": {
      const cause = wire["cause"];
      const error = new Error(
        String(wire["message"]),
        cause === undefined ? {} : { cause: fromWire(cause) },
      );
      error.name = String(wire["name"]);
      return error;
    }
    case "object":
      return fromEntries(v as Record<string, Wire>);
    default:
      throw new TypeError(`Unknown tag ${JSON.stringify(tag)} from the test bindings executor`);
  }
}
