/**
 * R2 buckets: head, get, list (reads); put, delete (writes). Objects come back as plain objects
 * with the same surface (body stream, text/json/arrayBuffer/blob, writeHttpMetadata) in record
 * and replay alike, so the handler sees the same thing both times.
 * @module
 */
import { readStream, toBytes } from "../../internal/values.js";
import { currentSession } from "../../internal/session.js";
import type { BindingBoundary } from "../_boundary.js";
import { bindingCall, hasMethods, streamOf } from "./_call.js";

interface ObjectData {
  key: string;
  version: string;
  size: number;
  etag: string;
  httpEtag: string;
  uploaded: Date;
  httpMetadata: Record<string, unknown> | null;
  customMetadata: Record<string, string> | null;
  range: unknown;
  storageClass: string | null;
  body?: Uint8Array;
}

function objectData(o: R2Object): ObjectData {
  return {
    key: o.key,
    version: o.version,
    size: o.size,
    etag: o.etag,
    httpEtag: o.httpEtag,
    uploaded: o.uploaded,
    httpMetadata: (o.httpMetadata as Record<string, unknown> | undefined) ?? null,
    customMetadata: o.customMetadata ?? null,
    range: o.range ?? null,
    storageClass: (o as { storageClass?: string }).storageClass ?? null,
  };
}

const HTTP_HEADERS: Record<string, string> = {
  contentType: "content-type",
  contentLanguage: "content-language",
  contentDisposition: "content-disposition",
  contentEncoding: "content-encoding",
  cacheControl: "cache-control",
};

function objectFrom(data: ObjectData): R2Object | R2ObjectBody {
  const base = {
    ...data,
    uploaded: new Date(data.uploaded),
    httpMetadata: data.httpMetadata ?? {},
    customMetadata: data.customMetadata ?? {},
    checksums: {},
    writeHttpMetadata(headers: Headers) {
      for (const [k, h] of Object.entries(HTTP_HEADERS)) {
        const v = data.httpMetadata?.[k];
        if (typeof v === "string") headers.set(h, v);
      }
      const exp = data.httpMetadata?.cacheExpiry;
      if (exp instanceof Date) headers.set("expires", exp.toUTCString());
    },
  };
  delete (base as { body?: unknown }).body;
  if (!(data.body instanceof Uint8Array)) return base as unknown as R2Object;
  const bytes = data.body;
  let used = false;
  let stream: ReadableStream<Uint8Array> | null = null;
  const take = () => {
    if (used) throw new TypeError("Body has already been used");
    used = true;
    return bytes.slice();
  };
  // defineProperties, not Object.assign: assign would call the body getter and mark it used.
  return Object.defineProperties(base, {
    body: {
      enumerable: true,
      get() {
        stream ??= streamOf(bytes);
        used = true;
        return stream;
      },
    },
    bodyUsed: { enumerable: true, get: () => used },
    arrayBuffer: { value: async () => take().buffer },
    bytes: { value: async () => take() },
    text: { value: async () => new TextDecoder().decode(take()) },
    json: { value: async () => JSON.parse(new TextDecoder().decode(take())) as unknown },
    blob: { value: async () => new Blob([take()]) },
  }) as unknown as R2ObjectBody;
}

async function bodyOf(value: unknown): Promise<unknown> {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return value;
  if (value instanceof ReadableStream)
    return readStream(value as ReadableStream<Uint8Array>, Infinity);
  if (value instanceof Blob) return new Uint8Array(await value.arrayBuffer());
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value))
    return toBytes(value as ArrayBuffer).slice();
  return value;
}

function wrapR2(bucket: R2Bucket, name: string): R2Bucket {
  const limit = () => currentSession()?.limits.maxBodyBytes ?? Infinity;
  const wrapper = {
    head: (key: string) =>
      bindingCall(name, {
        op: "head",
        request: { key },
        live: async () => {
          const o = await bucket.head(key);
          return o ? objectData(o) : null;
        },
      }).then((d) => (d ? objectFrom(d) : null)),
    get: (key: string, options?: R2GetOptions) =>
      bindingCall(name, {
        op: "get",
        request: { key, options: options ?? null },
        live: async () => {
          const o = await bucket.get(key, options);
          if (!o) return null;
          const data = objectData(o);
          if ("body" in o && o.body) {
            const body = await readStream(o.body, limit());
            if (body instanceof Uint8Array) data.body = body;
            else return { ...data, truncatedBody: body };
          }
          return data;
        },
      }).then((d) => (d ? objectFrom(d as ObjectData) : null)),
    put: async (key: string, value: unknown, options?: R2PutOptions) => {
      const body = await bodyOf(value);
      return bindingCall(name, {
        op: "put",
        write: true,
        request: { key, body, options: options ?? null },
        live: async () => {
          const o = await bucket.put(key, body as string, options);
          return o ? objectData(o) : null;
        },
      }).then((d) => (d ? objectFrom(d) : null));
    },
    delete: (keys: string | string[]) =>
      bindingCall(name, {
        op: "delete",
        write: true,
        request: { keys },
        live: async () => {
          await bucket.delete(keys);
          return null;
        },
      }).then(() => undefined),
    list: (options?: R2ListOptions) =>
      bindingCall(name, {
        op: "list",
        request: { options: options ?? null },
        live: async () => {
          const r = await bucket.list(options);
          return {
            objects: r.objects.map(objectData),
            truncated: r.truncated,
            cursor: r.truncated ? r.cursor : null,
            delimitedPrefixes: r.delimitedPrefixes,
          };
        },
      }).then((r) => ({
        ...r,
        objects: r.objects.map((o) => objectFrom(o)),
        ...(r.cursor === null ? {} : { cursor: r.cursor }),
      })),
  };
  return wrapper as unknown as R2Bucket;
}

export const r2Binding: BindingBoundary = {
  name: "r2",
  matches: (v) => hasMethods(v, "head", "get", "put", "delete", "list"),
  wrap: (binding, name) => wrapR2(binding as R2Bucket, name),
};
