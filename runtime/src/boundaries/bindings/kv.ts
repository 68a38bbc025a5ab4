/**
 * Workers KV: get (one key or many), getWithMetadata, list (reads); put, delete (writes). Values
 * come back in the requested type; streams and buffers are recorded as bytes, cut to the body
 * limit.
 * @module
 */
import { capped, readStream, toBytes } from "../../internal/values.js";
import { bindingNames, type BindingKind } from "../_boundary.js";
import { bodyData, streamOf } from "./_call.js";
import {
  wrapWithTable,
  type CallOperation,
  type OpContext,
  type OperationTable,
} from "./_table.js";

type ValueType = "text" | "json" | "arrayBuffer" | "stream";

function valueType(arg: unknown): ValueType {
  const t = typeof arg === "string" ? arg : (arg as { type?: string } | undefined)?.type;
  return t === "json" || t === "arrayBuffer" || t === "stream" ? t : "text";
}

async function toData(value: unknown, type: ValueType, limit: number): Promise<unknown> {
  if (value === null || value === undefined) return null;
  if (type === "stream") return readStream(value as ReadableStream<Uint8Array>, limit);
  if (type === "arrayBuffer") return capped(toBytes(value as ArrayBuffer).slice(), limit);
  return type === "text" ? capped(value, limit) : value;
}

function fromData(data: unknown, type: ValueType): unknown {
  if (data === null || data === undefined) return null;
  if (type === "stream") return streamOf(data as Uint8Array);
  if (type === "arrayBuffer") return (data as Uint8Array).slice().buffer;
  return data;
}

/**
 * A get of many keys answers a Map: recorded as its entries. A stream is teed: the recorder reads
 * at most the limit from one branch, and `handBack` gets the other for the app.
 */
async function valuesData(
  result: unknown,
  type: ValueType,
  limit: number,
  handBack?: (appStream: ReadableStream) => void,
): Promise<unknown> {
  if (type === "stream" && result instanceof ReadableStream && handBack) {
    const [app, recorder] = result.tee();
    handBack(app);
    return toData(recorder, type, limit);
  }
  if (!(result instanceof Map)) return toData(result, type, limit);
  const entries: [unknown, unknown][] = [];
  for (const [k, v] of result as Map<unknown, unknown>) {
    entries.push([k, await toData(v, type, limit)]);
  }
  return { entries };
}

function valuesFrom(data: unknown, type: ValueType): unknown {
  const entries = (data as { entries?: [unknown, unknown][] } | null)?.entries;
  if (!Array.isArray(entries)) return fromData(data, type);
  return new Map(entries.map(([k, v]) => [k, fromData(v, type)]));
}

function readRequest({ args: [key, arg] }: OpContext) {
  return {
    request: {
      key,
      type: valueType(arg),
      ...(arg !== undefined && arg !== null && typeof arg === "object" ? { options: arg } : {}),
    },
  };
}

// Recording hands the app the live value (a stream through one branch of a tee), so a value over
// the body limit reaches the app whole while the trace keeps its size and digest.
const get: CallOperation = {
  type: "call",
  request: readRequest,
  capture: async (value, c) => ({
    value: await valuesData(value, valueType(c.args[1]), c.limit, (s) => (c.scratch = s)),
  }),
  revive: (data, c, live) =>
    live !== undefined
      ? (c.scratch ?? live)
      : valuesFrom((data as { value: unknown }).value, valueType(c.args[1])),
};

const getWithMetadata: CallOperation = {
  type: "call",
  request: readRequest,
  async capture(value, c) {
    const r = value as { value: unknown; metadata?: unknown; cacheStatus?: unknown };
    return {
      value: await valuesData(r.value, valueType(c.args[1]), c.limit, (s) => (c.scratch = s)),
      metadata: r.metadata ?? null,
      cacheStatus: r.cacheStatus ?? null,
    };
  },
  revive(data, c, live) {
    if (live !== undefined) {
      return c.scratch ? { ...(live as object), value: c.scratch } : live;
    }
    const d = data as { value: unknown; metadata: unknown; cacheStatus: unknown };
    return { ...d, value: valuesFrom(d.value, valueType(c.args[1])) };
  },
};

const put: CallOperation = {
  type: "call",
  write: true,
  void: true,
  async request({ args: [key, value, options], limit }) {
    // A stream can be read once: the bytes read here are what the real put receives.
    const bytes = await bodyData(value);
    return {
      request: { key, value: capped(bytes, limit), options: options ?? null },
      args: [key, bytes, options],
    };
  },
  capture: () => null,
  revive: () => undefined,
};

const TABLE: OperationTable = {
  ops: {
    get,
    getWithMetadata,
    list: { type: "call", request: ({ args: [options] }) => ({ request: options ?? null }) },
    put,
    delete: {
      type: "call",
      write: true,
      void: true,
      request: ({ args: [key] }) => ({ request: { key } }),
      capture: () => null,
      revive: () => undefined,
    },
  },
};

export const kvBinding: BindingKind = {
  name: "kv",
  constructorNames: ["KvNamespace"],
  replayable: true,
  wrap: (binding, name, options) =>
    wrapWithTable(binding, TABLE, { binding: name, target: name, state: undefined, ...options }),
  config: {
    wranglerKey: "kv_namespaces",
    names: (section) => bindingNames(section),
    miniflare: (names) => ({ kvNamespaces: [...names] }),
  },
  note: "KV reads and writes are served from the trace; writes never run",
};
