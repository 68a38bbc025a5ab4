/**
 * D1 databases, R2 buckets and KV namespaces of a Miniflare, usable from Node without Miniflare's synchronous
 * proxy.
 *
 * `mf.getD1Database()` / `mf.getR2Bucket()` return stubs whose property reads and first calls
 * (`db.prepare(sql)`, `stmt.bind(...)`, every field of an R2 object) block Node on a helper
 * thread (`Atomics.wait`); on a loaded machine that proxy lost step with its thread
 * (`assert(message?.id === id)` in miniflare's fetch-sync) and every later call on the instance
 * failed. Here statements and R2 arguments are built in Node as plain data, and only the async
 * calls (`first`, `all`, `run`, `raw`, `batch`, `exec`; R2 `head`, `get`, `put`, `list`,
 * `delete`) travel, through `mf.dispatchFetch`, to an executor worker in the same Miniflare bound
 * to the same database and bucket ids: the real D1 and R2 in workerd run them.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Miniflare, MiniflareOptions, WorkerOptions } from "miniflare";
import { bundleWorker } from "../src/harness/bundle.js";
import { fromWire, toWire, type Call, type Reply, type Statement } from "./_miniflare-wire.js";

let executorScript: Promise<string> | null = null;

/**
 * runtime/test/_miniflare-executor.ts, found above this module: `npm run bench` runs a bundle of
 * this file written elsewhere (dashboard/test/.bench-list.mjs).
 */
function executorEntry(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const entry = join(dir, "runtime/test/_miniflare-executor.ts");
    if (existsSync(entry)) return entry;
    if (dirname(dir) === dir) throw new Error("runtime/test/_miniflare-executor.ts not found");
  }
}

function executorName(worker: string): string {
  return `node-bindings:${worker}`;
}

/**
 * `options` with one executor worker per worker that has D1 databases, R2 buckets or KV
 * namespaces, bound to the same ids, for {@link nodeD1}, {@link nodeR2} and {@link nodeKV}. Takes single-worker options too.
 *
 * @example
 * ```ts
 * const mf = new Miniflare(await withNodeBindings({ modules: true, script, d1Databases: ["DB"] }));
 * const db = nodeD1(mf, "DB");
 * ```
 */
export async function withNodeBindings(options: MiniflareOptions): Promise<MiniflareOptions> {
  executorScript ??= bundleWorker(executorEntry());
  const contents = await executorScript;
  const { workers, ...shared } = options as MiniflareOptions & { workers?: WorkerOptions[] };
  const list: WorkerOptions[] = workers ?? [shared as WorkerOptions];
  const executors: WorkerOptions[] = list
    .filter((w) => w.d1Databases ?? w.r2Buckets ?? w.kvNamespaces)
    .map((w) => ({
      name: executorName(w.name ?? ""),
      modules: [{ type: "ESModule", path: "executor.js", contents }],
      compatibilityDate: "2026-04-20",
      ...(w.d1Databases === undefined ? {} : { d1Databases: w.d1Databases }),
      ...(w.r2Buckets === undefined ? {} : { r2Buckets: w.r2Buckets }),
      ...(w.kvNamespaces === undefined ? {} : { kvNamespaces: w.kvNamespaces }),
    }));
  return { ...shared, workers: [...list, ...executors] } as MiniflareOptions;
}

async function send(mf: Miniflare, worker: string, call: Call): Promise<unknown> {
  const res = await mf.dispatchFetch("http://node-bindings.test/", {
    method: "POST",
    headers: { "MF-Route-Override": executorName(worker), "content-type": "application/json" },
    body: JSON.stringify(toWire(call)),
  });
  const text = await res.text();
  if (!res.ok) {
    throw new Error(`The test bindings executor answered ${res.status}: ${text.slice(0, 300)}`);
  }
  const reply = JSON.parse(text) as Reply;
  if ("error" in reply) throw fromWire(reply.error);
  return fromWire(reply.ok);
}

type D1Op = (Call & { kind: "d1" })["op"];
type D1Send = (op: D1Op, statements: Statement[], args: unknown[]) => Promise<unknown>;

class NodeStatement {
  readonly #send: D1Send;
  readonly statement: Statement;

  constructor(send: D1Send, statement: Statement) {
    this.#send = send;
    this.statement = statement;
  }

  bind(...params: unknown[]): NodeStatement {
    return new NodeStatement(this.#send, { sql: this.statement.sql, params });
  }

  #call(op: "first" | "all" | "run" | "raw", args: unknown[]): Promise<unknown> {
    return this.#send(op, [this.statement], args);
  }

  first(column?: string): Promise<unknown> {
    return this.#call("first", column === undefined ? [] : [column]);
  }

  all(): Promise<unknown> {
    return this.#call("all", []);
  }

  run(): Promise<unknown> {
    return this.#call("run", []);
  }

  raw(options?: { columnNames?: boolean }): Promise<unknown> {
    return this.#call("raw", options === undefined ? [] : [options]);
  }
}

/**
 * The D1 database bound as `binding` to `worker` (the only one if omitted), as a `D1Database`
 * whose `prepare`/`bind` stay in Node. Needs a Miniflare made with {@link withNodeBindings}.
 *
 * @example
 * ```ts
 * const db = nodeD1(mf, "DB", "dashboard");
 * await db.prepare("SELECT ?1 AS x").bind(1).first("x"); // 1
 * ```
 */
export function nodeD1(mf: Miniflare, binding: string, worker = ""): D1Database {
  const run: D1Send = (op, statements, args) =>
    send(mf, worker, { kind: "d1", binding, op, statements, args });
  const db = {
    prepare: (sql: string) => new NodeStatement(run, { sql, params: [] }),
    batch: (statements: NodeStatement[]) =>
      run(
        "batch",
        statements.map((s) => s.statement),
        [],
      ),
    exec: (sql: string) => run("exec", [], [sql]),
  };
  return db as unknown as D1Database;
}

type ObjectData = Omit<R2Object, "writeHttpMetadata" | "checksums"> & {
  checksums: Omit<R2Checksums, "toJSON">;
  body?: Uint8Array<ArrayBuffer>;
};

const HTTP_FIELDS = {
  contentType: "content-type",
  contentLanguage: "content-language",
  contentDisposition: "content-disposition",
  contentEncoding: "content-encoding",
  cacheControl: "cache-control",
} as const;

function hex(buffer: ArrayBuffer | undefined): string | undefined {
  return buffer && [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function r2Object(data: ObjectData): R2Object | R2ObjectBody {
  const { body: bytes, checksums, ...fields } = data;
  const object = {
    ...fields,
    checksums: {
      ...checksums,
      toJSON: () => ({
        md5: hex(checksums.md5),
        sha1: hex(checksums.sha1),
        sha256: hex(checksums.sha256),
        sha384: hex(checksums.sha384),
        sha512: hex(checksums.sha512),
      }),
    },
    writeHttpMetadata(headers: Headers): void {
      const meta = fields.httpMetadata ?? {};
      for (const [field, header] of Object.entries(HTTP_FIELDS)) {
        const value = meta[field as keyof typeof HTTP_FIELDS];
        if (value !== undefined) headers.set(header, value);
      }
      if (meta.cacheExpiry) headers.set("expires", meta.cacheExpiry.toUTCString());
    },
  };
  if (!bytes) return object as R2Object;
  let used = false;
  let stream: ReadableStream | null = null;
  const take = (): Uint8Array<ArrayBuffer> => {
    if (used) throw new TypeError("Body has already been used");
    used = true;
    return bytes;
  };
  // Spread, not Object.assign: the getters must stay getters.
  return {
    ...object,
    get body(): ReadableStream {
      stream ??= new Blob([bytes]).stream();
      return stream;
    },
    get bodyUsed(): boolean {
      return used;
    },
    arrayBuffer: async () => take().slice().buffer,
    bytes: async () => take().slice(),
    text: async () => new TextDecoder().decode(take()),
    json: async () => JSON.parse(new TextDecoder().decode(take())) as unknown,
    blob: async () => new Blob([take()]),
  } as unknown as R2ObjectBody;
}

async function bodyBytes(value: unknown): Promise<unknown> {
  if (value instanceof ReadableStream)
    return new Uint8Array(await new Response(value).arrayBuffer());
  if (value instanceof Blob) return new Uint8Array(await value.arrayBuffer());
  if (ArrayBuffer.isView(value) && !(value instanceof Uint8Array)) {
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  return value;
}

/**
 * The R2 bucket bound as `binding` to `worker` (the only one if omitted), as an `R2Bucket` whose
 * objects are plain data in Node (a body read once, as in workerd). Needs a Miniflare made with
 * {@link withNodeBindings}. Multipart uploads are not offered.
 *
 * @example
 * ```ts
 * const bucket = nodeR2(mf, "FLUX_TRACES", "dashboard");
 * await (await bucket.get("traces/x"))?.arrayBuffer();
 * ```
 */
export function nodeR2(mf: Miniflare, binding: string, worker = ""): R2Bucket {
  const call = async (op: "head" | "get" | "put" | "list" | "delete", args: unknown[]) =>
    send(mf, worker, { kind: "r2", binding, op, args });
  const revive = (data: unknown) => (data ? r2Object(data as ObjectData) : null);
  const bucket = {
    head: async (key: string) => revive(await call("head", [key])),
    get: async (...args: unknown[]) => revive(await call("get", args)),
    put: async (key: string, value: unknown, options?: unknown) =>
      revive(
        await call(
          "put",
          options === undefined
            ? [key, await bodyBytes(value)]
            : [key, await bodyBytes(value), options],
        ),
      ),
    list: async (...args: unknown[]) => {
      const list = (await call("list", args)) as { objects: ObjectData[] };
      return { ...list, objects: list.objects.map(r2Object) };
    },
    delete: async (keys: string | string[]) => {
      await call("delete", [keys]);
    },
  };
  return bucket as unknown as R2Bucket;
}

/**
 * The KV namespace bound as `binding` to `worker` (the only one if omitted), as a `KVNamespace`
 * (`get`, `getWithMetadata`, `put`, `list`, `delete`; no stream values). Needs a Miniflare made
 * with {@link withNodeBindings}.
 *
 * @example
 * ```ts
 * await nodeKV(mf, "KV").put("flags", "a,b");
 * ```
 */
export function nodeKV(mf: Miniflare, binding: string, worker = ""): KVNamespace {
  const call = (op: "get" | "getWithMetadata" | "put" | "list" | "delete", args: unknown[]) =>
    send(mf, worker, { kind: "kv", binding, op, args });
  const ns = {
    get: (...args: unknown[]) => call("get", args),
    getWithMetadata: (...args: unknown[]) => call("getWithMetadata", args),
    put: async (key: string, value: unknown, ...rest: unknown[]) => {
      await call("put", [key, await bodyBytes(value), ...rest]);
    },
    list: (...args: unknown[]) => call("list", args),
    delete: async (key: string) => {
      await call("delete", [key]);
    },
  };
  return ns as unknown as KVNamespace;
}

/**
 * `fetch` on the worker named `worker`, through `mf.dispatchFetch` routed by Miniflare's
 * `MF-Route-Override` header, instead of `(await mf.getWorker(worker)).fetch(...)`, whose stub
 * reads (the worker's binding, its `fetch` property) go through the synchronous proxy. Rejects, or
 * answers 500, when the handler throws.
 *
 * @example
 * ```ts
 * const res = await workerFetch(mf, "app", "http://shop.test/products");
 * ```
 */
export async function workerFetch(
  mf: Miniflare,
  worker: string,
  url: string,
  init: RequestInit = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("MF-Route-Override", worker);
  return (await mf.dispatchFetch(url, { ...init, headers } as never)) as unknown as Response;
}

/**
 * Counts the worker threads started until `restore()`: Miniflare's synchronous proxy starts one
 * on its first blocking call, so a count of 0 means nothing went through it.
 */
export function watchThreads(): { readonly started: number; restore(): void } {
  const threads = createRequire(import.meta.url)("node:worker_threads") as {
    Worker: new (...args: unknown[]) => object;
  };
  const Real = threads.Worker;
  let started = 0;
  threads.Worker = class extends Real {
    constructor(...args: unknown[]) {
      started++;
      super(...args);
    }
  };
  return {
    get started() {
      return started;
    },
    restore: () => void (threads.Worker = Real),
  };
}
