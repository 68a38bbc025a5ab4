/**
 * Checked-in format vectors: a version-1 trace (XChaCha20-Poly1305, per-trace key), a version-2
 * trace (AES-256-GCM under an isolate's key, positional event records) and a version-3 trace (the
 * compact profile: integer keys, string references, a 72-byte key envelope) of the same execution,
 * sealed once with a test-only key, must keep reading and opening to the same content, whatever
 * the codec or schema code becomes.
 */
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { openTrace, readTrace } from "../src/trace/seal.js";

const dir = new URL("./vectors/", import.meta.url);
const key = await readFile(new URL("v1-orders.key.test-only.json", dir), "utf8");
const text = (b: unknown) => new TextDecoder().decode(b as Uint8Array);

describe.each([
  ["v1-orders.cbor", 1],
  ["v2-orders.cbor", 2],
  ["v3-orders.cbor", 3],
])("trace format vector %s", async (file, version) => {
  const bytes = new Uint8Array(await readFile(new URL(file, dir)));

  it("is of its format version", () => {
    expect(readTrace(bytes).head.version).toBe(version);
  });

  it("reads the clear head without a key", () => {
    const { head } = readTrace(bytes);
    expect(head.id).toBe("019a0000000000000000000000000001");
    expect(head.summary).toMatchObject({
      app: "vectors",
      route: "/orders",
      method: "POST",
      status: 201,
      outcome: "ok",
    });
    expect(head.events.map((e) => `${e.seq} ${e.kind} ${e.op} ${e.target}`)).toEqual([
      "0 request POST /orders",
      "1 env get PAYMENTS_API_KEY",
      "2 fetch POST api.example.com/charges",
      "3 response 201 /orders",
    ]);
    expect(head.events[2]).toMatchObject({
      dur: 9000,
      status: 200,
      write: true,
      info: { masked: ["authorization"] },
    });
  });

  it("opens with its test-only key to the recorded payloads", async () => {
    const { payloads } = await openTrace(bytes, key);
    const [request, secret, fetch, response] = payloads as [
      { body: Uint8Array },
      string,
      { request: { headers: [string, string][]; body: Uint8Array }; result: { body: Uint8Array } },
      { status: number; body: Uint8Array },
    ];
    expect(text(request.body)).toBe('{"sku":"tee"}');
    expect(secret).toBe("sk_test_vector_only");
    expect(fetch.request.headers).toEqual([["authorization", "Bearer sk_test_vector_only"]]);
    expect(text(fetch.request.body)).toBe('{"amount":2500}');
    expect(text(fetch.result.body)).toBe('{"id":"ch_1"}');
    expect(response.status).toBe(201);
    expect(text(response.body)).toBe('{"order":"o_1"}');
  });

  it("lists the masked headers, the defaults included", () => {
    expect(readTrace(bytes).head.masks.headers).toContain("authorization");
  });

  it("keeps every payload out of the clear bytes", () => {
    const clear = new TextDecoder("latin1").decode(bytes);
    for (const s of ["sk_test_vector_only", '{"sku":"tee"}', "ch_1", "o_1"])
      expect(clear).not.toContain(s);
  });
});
