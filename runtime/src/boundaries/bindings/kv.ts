/**
 * Workers KV: get, getWithMetadata, list (reads); put, delete (writes).
 * @module
 */
import { readStream, toBytes } from "../../internal/values.js";
import type { BindingBoundary } from "../_boundary.js";
import { bindingCall, hasMethods, streamOf } from "./_call.js";

type KV = KVNamespace;
type ValueType = "text" | "json" | "arrayBuffer" | "stream";

function valueType(arg: unknown): ValueType {
  const t = typeof arg === "string" ? arg : (arg as { type?: string } | undefined)?.type;
  return t === "json" || t === "arrayBuffer" || t === "stream" ? t : "text";
}

/** KV values come back in the requested type; streams and buffers are captured as bytes. */
async function toData(value: unknown, type: ValueType, limit: number): Promise<unknown> {
  if (value === null || value === undefined) return null;
  if (type === "stream") return readStream(value as ReadableStream<Uint8Array>, limit);
  if (type === "arrayBuffer") return toBytes(value as ArrayBuffer).slice();
  return value;
}

function fromData(data: unknown, type: ValueType): unknown {
  if (data === null || data === undefined) return null;
  if (type === "stream") return streamOf(data as Uint8Array);
  if (type === "arrayBuffer") return (data as Uint8Array).slice().buffer;
  return data;
}

async function putValue(value: unknown): Promise<unknown> {
  if (value instanceof ReadableStream)
    return readStream(value as ReadableStream<Uint8Array>, Infinity);
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value))
    return toBytes(value as ArrayBuffer).slice();
  return value;
}

const LIMIT = 256 * 1024;

function wrapKv(kv: KV, name: string): KV {
  const getLike =
    (method: "get" | "getWithMetadata") =>
    async (key: unknown, arg?: unknown): Promise<unknown> => {
      const type = valueType(arg);
      const run = () =>
        (kv[method] as (k: unknown, a?: unknown) => Promise<unknown>).call(kv, key, arg);
      // Capture happens before the value is handed back so record and replay hand back alike.
      return bindingCall<unknown>(name, {
        op: method,
        request: { key, type },
        live: async () => {
          const result = await run();
          if (method === "get") return { value: await toData(result, type, LIMIT) };
          const r = result as { value: unknown; metadata: unknown; cacheStatus?: unknown };
          return {
            value: await toData(r.value, type, LIMIT),
            metadata: r.metadata ?? null,
            cacheStatus: r.cacheStatus ?? null,
          };
        },
      }).then((data) => {
        const d = data as { value: unknown; metadata?: unknown; cacheStatus?: unknown };
        if (method === "get") return fromData(d.value, type);
        return {
          value: fromData(d.value, type),
          metadata: d.metadata ?? null,
          cacheStatus: d.cacheStatus ?? null,
        };
      });
    };
  const wrapper = {
    get: getLike("get"),
    getWithMetadata: getLike("getWithMetadata"),
    list: (options?: unknown) =>
      bindingCall(name, {
        op: "list",
        request: { options: options ?? null },
        live: () => kv.list(options as KVNamespaceListOptions),
      }),
    put: async (key: string, value: unknown, options?: unknown) => {
      const v = await putValue(value);
      return bindingCall(name, {
        op: "put",
        write: true,
        request: { key, value: v, options: options ?? null },
        live: async () => {
          await kv.put(key, v as string, options as KVNamespacePutOptions);
          return null;
        },
        revive: () => undefined,
      }).then(() => undefined);
    },
    delete: (key: string) =>
      bindingCall(name, {
        op: "delete",
        write: true,
        request: { key },
        live: async () => {
          await kv.delete(key);
          return null;
        },
      }).then(() => undefined),
  };
  return wrapper as unknown as KV;
}

export const kvBinding: BindingBoundary = {
  name: "kv",
  matches: (v) =>
    hasMethods(v, "get", "put", "getWithMetadata", "list", "delete") && !hasMethods(v, "head"),
  wrap: (binding, name) => wrapKv(binding as KV, name),
};
