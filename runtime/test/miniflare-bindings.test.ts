/**
 * The Node-side test bindings of `_miniflare.ts` against real D1, R2 and KV in workerd: values,
 * blobs, nulls and errors cross unchanged, R2 objects behave as workerd's, and no test's calls go
 * through Miniflare's synchronous proxy (its helper thread is never started).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Miniflare } from "miniflare";
import { nodeD1, nodeKV, nodeR2, watchThreads, withNodeBindings } from "./_miniflare.js";
import { fromWire, toWire } from "./_miniflare-wire.js";

// Miniflare's synchronous proxy starts a worker thread on its first blocking call.
const threads = watchThreads();

let mf: Miniflare;
let db: D1Database;
let bucket: R2Bucket;
let kv: KVNamespace;

beforeAll(async () => {
  mf = new Miniflare(
    await withNodeBindings({
      workers: [
        {
          name: "app",
          modules: true,
          script: "export default { fetch() { return new Response('app') } }",
          compatibilityDate: "2026-04-20",
          d1Databases: { DB: "test-db" },
          r2Buckets: { FILES: "test-files" },
          kvNamespaces: { KV: "test-kv" },
        },
      ],
    }),
  );
  db = nodeD1(mf, "DB", "app");
  bucket = nodeR2(mf, "FILES", "app");
  kv = nodeKV(mf, "KV", "app");
  await db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, data BLOB, score REAL)");
});

afterEach(() => {
  expect(threads.started, "calls went through Miniflare's synchronous proxy").toBe(0);
});

afterAll(async () => {
  threads.restore();
  await mf?.dispose();
});

describe("the wire", () => {
  it.each([
    ["bytes", new Uint8Array([0, 1, 255])],
    ["an ArrayBuffer", new Uint8Array([7, 8]).buffer],
    ["a date", new Date(1_700_000_000_000)],
    ["undefined in an array", [1, undefined, null]],
    ["non-finite numbers", [Infinity, -Infinity, NaN]],
    ["an object with the tag key", { "~": "u8", v: "not bytes" }],
    ["nested values", { a: [{ b: new Uint8Array([1]) }], c: "", d: false, e: 0 }],
  ])("carries %s unchanged", (_name, value) => {
    expect(fromWire(JSON.parse(JSON.stringify(toWire(value))))).toEqual(value);
  });

  it("carries an error's name, message and cause", () => {
    const sent = new Error("D1_ERROR: boom", { cause: new Error("inner") });
    sent.name = "D1Error";
    const got = fromWire(JSON.parse(JSON.stringify(toWire(sent)))) as Error;
    expect(got).toBeInstanceOf(Error);
    expect([got.name, got.message, (got.cause as Error).message]).toEqual([
      "D1Error",
      "D1_ERROR: boom",
      "inner",
    ]);
  });

  it("refuses what it cannot carry", () => {
    expect(() => toWire(new Map())).toThrow(TypeError);
    expect(() => toWire(() => 1)).toThrow(TypeError);
  });
});

describe("nodeD1", () => {
  it("binds and returns numbers, text, null and blobs as D1 does", async () => {
    const insert = db.prepare("INSERT INTO t (id, name, data, score) VALUES (?, ?, ?, ?)");
    const r = await insert.bind(1, "ann", new Uint8Array([1, 2, 3]), 1.5).run();
    expect(r.success).toBe(true);
    expect(r.meta.changes).toBe(1);
    await insert.bind(2, null, null, null).run();
    expect(await db.prepare("SELECT * FROM t WHERE id < 10 ORDER BY id").all()).toMatchObject({
      success: true,
      results: [
        { id: 1, name: "ann", data: [1, 2, 3], score: 1.5 },
        { id: 2, name: null, data: null, score: null },
      ],
    });
    expect(await db.prepare("SELECT name FROM t WHERE id = ?").bind(1).first("name")).toBe("ann");
    expect(await db.prepare("SELECT * FROM t WHERE id = ?").bind(99).first()).toBeNull();
    const raw = db.prepare("SELECT id, name FROM t WHERE id < 10 ORDER BY id");
    expect(await raw.raw({ columnNames: true })).toEqual([
      ["id", "name"],
      [1, "ann"],
      [2, null],
    ]);
  });

  it("keeps a prepared statement reusable: bind returns a new statement", async () => {
    const byId = db.prepare("SELECT ?1 AS x");
    const [a, b] = await Promise.all([byId.bind(1).first("x"), byId.bind(2).first("x")]);
    expect([a, b]).toEqual([1, 2]);
  });

  it("runs a batch in one transaction, and exec", async () => {
    const add = db.prepare("INSERT INTO t (id, name) VALUES (?, ?)");
    const results = await db.batch([add.bind(10, "a"), add.bind(11, "b")]);
    expect(results.map((r) => r.success)).toEqual([true, true]);
    expect(results.map((r) => r.meta.changes)).toEqual([1, 1]);
    // The second statement fails: the first is rolled back with it.
    await expect(db.batch([add.bind(12, "c"), add.bind(10, "dup")])).rejects.toThrow(
      /UNIQUE constraint failed: t.id/,
    );
    expect(await db.prepare("SELECT count(*) AS n FROM t WHERE id >= 10").first("n")).toBe(2);
    expect(
      await db.exec("UPDATE t SET score = 0 WHERE id = 10;\nUPDATE t SET score = 1 WHERE id = 11"),
    ).toEqual(expect.objectContaining({ count: 2 }));
    expect(await db.prepare("SELECT score FROM t WHERE id = 11").first("score")).toBe(1);
  });

  it("rejects with D1's own error message", async () => {
    const error = await db
      .prepare("SELECT * FROM nowhere")
      .all()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/^D1_ERROR: no such table: nowhere/);
  });
});

describe("nodeR2", () => {
  it("stores bytes with metadata and reads them back once", async () => {
    const put = await bucket.put("a/1", new Uint8Array([104, 105]), {
      httpMetadata: { contentType: "text/plain" },
      customMetadata: { app: "shop" },
    });
    expect(put).toMatchObject({ key: "a/1", size: 2, customMetadata: { app: "shop" } });
    expect(put?.uploaded).toBeInstanceOf(Date);
    const head = await bucket.head("a/1");
    expect(head).toMatchObject({ key: "a/1", size: 2, etag: put?.etag });
    const got = await bucket.get("a/1");
    expect(got?.bodyUsed).toBe(false);
    expect(await got?.text()).toBe("hi");
    expect(got?.bodyUsed).toBe(true);
    await expect(got!.arrayBuffer()).rejects.toThrow(TypeError);
    const headers = new Headers();
    got?.writeHttpMetadata(headers);
    expect(headers.get("content-type")).toBe("text/plain");
  });

  it("stores a stream body, lists with metadata, honours onlyIf, deletes", async () => {
    await bucket.put("b/1", "text", { customMetadata: { n: "1" } });
    await bucket.put("b/2", new Blob(["streamed"]).stream(), { customMetadata: { n: "2" } });
    expect(await (await bucket.get("b/2"))?.text()).toBe("streamed");
    const list = await bucket.list({ prefix: "b/", include: ["customMetadata"] } as R2ListOptions);
    expect(list.objects.map((o) => [o.key, o.customMetadata])).toEqual([
      ["b/1", { n: "1" }],
      ["b/2", { n: "2" }],
    ]);
    const etag = list.objects[1]!.etag;
    const unchanged = await bucket.get("b/2", { onlyIf: { etagDoesNotMatch: etag } });
    expect(unchanged).not.toBeNull();
    expect(unchanged && "body" in unchanged).toBe(false);
    await bucket.delete(["b/1", "b/2"]);
    expect(await bucket.head("b/1")).toBeNull();
    expect(await bucket.get("b/2")).toBeNull();
  });
});

describe("nodeKV", () => {
  it("puts, gets with metadata, lists and deletes", async () => {
    await kv.put("k", "v", { metadata: { m: 1 } });
    expect(await kv.get("k")).toBe("v");
    expect(await kv.getWithMetadata("k")).toMatchObject({ value: "v", metadata: { m: 1 } });
    expect((await kv.list({ prefix: "k" })).keys.map((k) => k.name)).toEqual(["k"]);
    await kv.delete("k");
    expect(await kv.get("k")).toBeNull();
  });
});
