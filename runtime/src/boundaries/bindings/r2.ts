/**
 * R2 buckets: head, get (ranges, conditionals), list (reads); put, delete and multipart uploads
 * (writes). Objects come back as objects with R2's surface (`body`, `text()`, `json()`,
 * `arrayBuffer()`, `bytes()`, `blob()`, `writeHttpMetadata()`, `constructor.name` `R2ObjectBody`)
 * in record and replay alike. When recording, the app reads the real body through one branch of a
 * tee while the recorder reads at most the body limit from the other.
 * @module
 */
import { capped, headerPairs, readStream } from "../../internal/values.js";
import { bindingNames, type BindingKind } from "../_boundary.js";
import { bodyData, streamOf } from "./_call.js";
import {
  standIn,
  wrapWithTable,
  type CallOperation,
  type Handle,
  type OpContext,
  type OperationTable,
} from "./_table.js";

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
  checksums: Record<string, unknown> | null;
  /** Bytes, a truncation marker, or absent (an object without body). */
  body?: unknown;
}

function objectData(o: R2Object): ObjectData {
  const checksums = (o as unknown as { checksums?: { toJSON?(): Record<string, unknown> } })
    .checksums;
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
    checksums: checksums?.toJSON?.() ?? null,
  };
}

const HTTP_HEADERS: Record<string, string> = {
  contentType: "content-type",
  contentLanguage: "content-language",
  contentDisposition: "content-disposition",
  contentEncoding: "content-encoding",
  cacheControl: "cache-control",
};

// Prototypes named like workerd's, so `constructor.name` reads the same in record and replay.
const R2ObjectProto = (standIn("R2Object") as { constructor: { prototype: object } }).constructor
  .prototype;
const R2ObjectBodyProto = (standIn("R2ObjectBody") as { constructor: { prototype: object } })
  .constructor.prototype;

/** An R2Object (or R2ObjectBody when a body is given) from recorded data. */
function objectFrom(data: ObjectData, body?: ReadableStream<Uint8Array> | Uint8Array): R2Object {
  const fields = {
    key: data.key,
    version: data.version,
    size: data.size,
    etag: data.etag,
    httpEtag: data.httpEtag,
    uploaded: new Date(data.uploaded),
    httpMetadata: data.httpMetadata ?? {},
    customMetadata: data.customMetadata ?? {},
    range: data.range ?? undefined,
    storageClass: data.storageClass ?? "Standard",
    checksums: { ...(data.checksums ?? {}), toJSON: () => ({ ...(data.checksums ?? {}) }) },
    writeHttpMetadata(headers: Headers) {
      for (const [k, h] of Object.entries(HTTP_HEADERS)) {
        const v = data.httpMetadata?.[k];
        if (typeof v === "string") headers.set(h, v);
      }
      const exp = data.httpMetadata?.cacheExpiry;
      if (exp instanceof Date) headers.set("expires", exp.toUTCString());
    },
  };
  if (body === undefined) {
    return Object.assign(Object.create(R2ObjectProto) as object, fields) as unknown as R2Object;
  }
  let stream: ReadableStream<Uint8Array> | null = body instanceof Uint8Array ? null : body;
  let used = false;
  const take = async (): Promise<Uint8Array> => {
    if (used) throw new TypeError("Body has already been used");
    used = true;
    if (body instanceof Uint8Array) return body.slice();
    const read = await readStream(body, Infinity);
    return read instanceof Uint8Array ? read : new Uint8Array(0);
  };
  const o = Object.assign(Object.create(R2ObjectBodyProto) as object, fields);
  // defineProperties, not Object.assign: assign would call the body getter and mark it used.
  return Object.defineProperties(o, {
    body: {
      enumerable: true,
      get() {
        stream ??= streamOf(body as Uint8Array);
        used = true;
        return stream;
      },
    },
    bodyUsed: { enumerable: true, get: () => used },
    arrayBuffer: { value: async () => (await take()).buffer },
    bytes: { value: take },
    text: { value: async () => new TextDecoder().decode(await take()) },
    json: { value: async () => JSON.parse(new TextDecoder().decode(await take())) as unknown },
    blob: { value: async () => new Blob([(await take()).buffer as ArrayBuffer]) },
  }) as unknown as R2ObjectBody;
}

function revivedObject(data: unknown): R2Object | null {
  return data ? objectFrom(data as ObjectData) : null;
}

/** Options as data: Headers become header pairs, buffers bytes. */
function optionsData(options: unknown): unknown {
  if (options === undefined || options === null) return null;
  if (options instanceof Headers) return { headers: headerPairs(options) };
  if (options instanceof ArrayBuffer) return new Uint8Array(options.slice(0));
  if (ArrayBuffer.isView(options)) {
    return new Uint8Array(
      options.buffer.slice(options.byteOffset, options.byteOffset + options.byteLength),
    );
  }
  if (options instanceof Date || typeof options !== "object") return options;
  if (Array.isArray(options)) return options.map(optionsData);
  return Object.fromEntries(Object.entries(options).map(([k, v]) => [k, optionsData(v)]));
}

const get: CallOperation = {
  type: "call",
  request: ({ args: [key, options] }) => ({ request: { key, options: optionsData(options) } }),
  async capture(value, c) {
    if (!value) return null;
    const o = value as R2ObjectBody;
    const data = objectData(o);
    if (!("body" in o) || !o.body) return data;
    // The app reads one branch; the recorder reads at most the limit from the other.
    const [app, recorder] = o.body.tee();
    c.scratch = app;
    data.body = await readStream(recorder, c.limit);
    return data;
  },
  revive(data, c) {
    if (!data) return null;
    const d = data as ObjectData;
    if (!("body" in d)) return objectFrom(d);
    const live = c.scratch as ReadableStream<Uint8Array> | undefined;
    return objectFrom(d, live ?? (d.body as Uint8Array));
  },
};

const put: CallOperation = {
  type: "call",
  write: true,
  async request({ args: [key, value, options], limit }) {
    const body = await bodyData(value);
    return {
      request: { key, body: capped(body, limit), options: optionsData(options) },
      args: [key, body, options],
    };
  },
  capture: (o) => (o ? objectData(o as R2Object) : null),
  revive: revivedObject,
};

interface Upload {
  key: string;
  uploadId: string;
}

const UPLOAD_TABLE: OperationTable<Upload> = {
  ops: {
    uploadPart: {
      type: "call",
      write: true,
      async request({ h, args: [partNumber, value, options], limit }) {
        const body = await bodyData(value);
        return {
          request: {
            ...h.state,
            partNumber,
            body: capped(body, limit),
            options: optionsData(options),
          },
          args: [partNumber, body, options],
        };
      },
      capture: (part) => ({ ...(part as R2UploadedPart) }),
    },
    complete: {
      type: "call",
      write: true,
      request: ({ h, args: [parts] }) => ({ request: { ...h.state, parts: optionsData(parts) } }),
      capture: (o) => objectData(o as R2Object),
      revive: revivedObject,
    },
    abort: {
      type: "call",
      write: true,
      void: true,
      request: ({ h }) => ({ request: { ...h.state } }),
      capture: () => null,
      revive: () => undefined,
    },
  },
};

/** The multipart upload handle: the real one when there is one, else a stand-in with its ids. */
function uploadHandle(bucket: Handle, upload: Upload, live?: unknown): object {
  let real = live as object | undefined;
  let fake = false;
  if (!real && !bucket.standIn) {
    try {
      real = (bucket.real as R2Bucket).resumeMultipartUpload(upload.key, upload.uploadId);
    } catch {
      real = undefined;
    }
  }
  if (!real) {
    real = Object.assign(standIn("R2MultipartUpload"), upload);
    fake = true;
  }
  return wrapWithTable(real, UPLOAD_TABLE, {
    binding: bucket.binding,
    target: bucket.target,
    state: { key: upload.key, uploadId: upload.uploadId },
    standIn: fake,
  });
}

const TABLE: OperationTable = {
  ops: {
    head: {
      type: "call",
      request: ({ args: [key] }) => ({ request: { key } }),
      capture: (o) => (o ? objectData(o as R2Object) : null),
      revive: revivedObject,
    },
    get,
    put,
    delete: {
      type: "call",
      write: true,
      void: true,
      request: ({ args: [keys] }) => ({ request: { keys } }),
      capture: () => null,
      revive: () => undefined,
    },
    list: {
      type: "call",
      request: ({ args: [options] }) => ({ request: optionsData(options) }),
      capture(value) {
        const r = value as R2Objects;
        return {
          objects: r.objects.map(objectData),
          truncated: r.truncated,
          cursor: r.truncated ? r.cursor : null,
          delimitedPrefixes: r.delimitedPrefixes,
        };
      },
      revive(data) {
        const r = data as { objects: ObjectData[]; cursor: string | null };
        return {
          ...r,
          objects: r.objects.map((o) => objectFrom(o)),
          ...(r.cursor === null ? { cursor: undefined } : {}),
        };
      },
    },
    createMultipartUpload: {
      type: "call",
      write: true,
      request: ({ args: [key, options] }) => ({ request: { key, options: optionsData(options) } }),
      capture: (u) => ({ key: (u as Upload).key, uploadId: (u as Upload).uploadId }),
      revive: (data, c: OpContext, live) => uploadHandle(c.h, data as Upload, live),
    },
    resumeMultipartUpload: {
      type: "child",
      make: (h, [key, uploadId]) =>
        uploadHandle(h, { key: String(key), uploadId: String(uploadId) }),
    },
  },
};

export const r2Binding: BindingKind = {
  name: "r2",
  constructorNames: ["R2Bucket"],
  replayable: true,
  wrap: (binding, name, options) =>
    wrapWithTable(binding, TABLE, { binding: name, target: name, state: undefined, ...options }),
  config: {
    wranglerKey: "r2_buckets",
    names: (section) => bindingNames(section),
    miniflare: (names) => ({ r2Buckets: [...names] }),
  },
  note: "R2 reads, writes and multipart uploads are served from the trace; writes never run",
};
