/**
 * The executor worker of the Node-side test bindings (`_miniflare.ts`): runs each D1, R2 or KV call
 * it is sent on the real binding in workerd and answers with the result or the error, over
 * `_miniflare-wire.ts`. R2 objects leave as plain data (an object body as its bytes).
 */
import { fromWire, toWire, type Call, type Reply, type Wire } from "./_miniflare-wire.js";

function objectData(o: R2Object): Record<string, unknown> {
  const c = o.checksums;
  return {
    key: o.key,
    version: o.version,
    size: o.size,
    etag: o.etag,
    httpEtag: o.httpEtag,
    uploaded: o.uploaded,
    httpMetadata: { ...o.httpMetadata },
    customMetadata: { ...o.customMetadata },
    range: o.range,
    storageClass: o.storageClass,
    checksums: { md5: c.md5, sha1: c.sha1, sha256: c.sha256, sha384: c.sha384, sha512: c.sha512 },
  };
}

async function r2(bucket: R2Bucket, op: string, args: unknown[]): Promise<unknown> {
  switch (op) {
    case "head": {
      const o = await bucket.head(...(args as Parameters<R2Bucket["head"]>));
      return o && objectData(o);
    }
    case "get": {
      const o = await bucket.get(...(args as Parameters<R2Bucket["get"]>));
      if (!o) return null;
      // Without a body when `onlyIf` failed.
      if (!("body" in o)) return objectData(o);
      return { ...objectData(o), body: new Uint8Array(await o.arrayBuffer()) };
    }
    case "put": {
      const o = await bucket.put(...(args as Parameters<R2Bucket["put"]>));
      return o && objectData(o);
    }
    case "list": {
      const l = await bucket.list(...(args as Parameters<R2Bucket["list"]>));
      return { ...l, objects: l.objects.map(objectData) };
    }
    case "delete":
      return bucket.delete(...(args as Parameters<R2Bucket["delete"]>));
    default:
      throw new TypeError(`The test bindings executor has no R2 ${op}`);
  }
}

async function d1(db: D1Database, call: Call & { kind: "d1" }): Promise<unknown> {
  if (call.op === "exec") return db.exec(String(call.args[0]));
  const statements = call.statements.map((s) => db.prepare(s.sql).bind(...s.params));
  if (call.op === "batch") return db.batch(statements);
  const [statement] = statements;
  if (!statement) throw new TypeError(`D1 ${call.op} needs a statement`);
  const method = statement[call.op] as (...args: unknown[]) => Promise<unknown>;
  return Reflect.apply(method, statement, call.args);
}

async function kv(ns: KVNamespace, op: string, args: unknown[]): Promise<unknown> {
  if (!["get", "getWithMetadata", "put", "list", "delete"].includes(op)) {
    throw new TypeError(`The test bindings executor has no KV ${op}`);
  }
  const method = ns[op as keyof KVNamespace] as (...args: unknown[]) => Promise<unknown>;
  return Reflect.apply(method, ns, args);
}

export default {
  async fetch(request: Request, env: Record<string, unknown>): Promise<Response> {
    let reply: Reply;
    try {
      const call = fromWire((await request.json()) as Wire) as Call;
      const binding = env[call.binding];
      const result =
        call.kind === "d1"
          ? await d1(binding as D1Database, call)
          : call.kind === "r2"
            ? await r2(binding as R2Bucket, call.op, call.args)
            : await kv(binding as KVNamespace, call.op, call.args);
      reply = { ok: toWire(result) };
    } catch (error) {
      reply = { error: toWire(error) };
    }
    return Response.json(reply);
  },
};
