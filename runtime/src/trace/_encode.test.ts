import { describe, expect, it } from "vitest";
import { CborWriter, encode } from "./_encode.js";
import { decodeCbor } from "./_decode.js";
import { encodeCbor } from "./_cbor.js";

/** A seeded generator of values of the trace's data model. */
function values(seed: number, n: number): unknown[] {
  let s = seed >>> 0;
  const rnd = () => (s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32;
  const pick = (depth: number): unknown => {
    const k = Math.floor(rnd() * (depth > 3 ? 7 : 10));
    switch (k) {
      case 0:
        return null;
      case 1:
        return rnd() < 0.5;
      case 2:
        return Math.floor((rnd() - 0.5) * 2 ** (1 + Math.floor(rnd() * 52)));
      case 3:
        return (rnd() - 0.5) * 1e6;
      case 4:
        return Array.from({ length: Math.floor(rnd() * 40) }, () =>
          String.fromCharCode(32 + Math.floor(rnd() * (rnd() < 0.8 ? 95 : 0x2000))),
        ).join("");
      case 5:
        return Uint8Array.from({ length: Math.floor(rnd() * 300) }, () => Math.floor(rnd() * 256));
      case 6:
        return new Date(Math.floor(rnd() * 2e12));
      case 7:
        return Array.from({ length: Math.floor(rnd() * 5) }, () => pick(depth + 1));
      default: {
        const o: Record<string, unknown> = {};
        for (let i = Math.floor(rnd() * 5); i > 0; i--)
          o[`k${Math.floor(rnd() * 1000)}`] = pick(depth + 1);
        return o;
      }
    }
  };
  return Array.from({ length: n }, () => pick(0));
}

describe("the CBOR writer", () => {
  it("round-trips the data model through the bounded reader", () => {
    for (const v of values(7, 3000)) expect(decodeCbor(encode(v))).toEqual(v);
  });

  it("writes what cbor-x writes for the data model's common values, or shorter", () => {
    for (const v of values(11, 500)) {
      expect(encode(v).length).toBeLessThanOrEqual(encodeCbor(v).length + 8);
    }
  });

  it("keeps long and non-ASCII strings whole across buffer growth", () => {
    const long = "é".repeat(40_000) + "🦀".repeat(1000);
    expect(decodeCbor(encode([long, long]))).toEqual([long, long]);
  });

  it("refuses what is outside the data model", () => {
    expect(() => encode(() => 1)).toThrow(TypeError);
    expect(() => encode(10n)).toThrow(TypeError);
  });
});

describe("the compact profile (format version 3)", () => {
  const compact = { compact: true };

  it("round-trips the data model, repeated keys and strings included", () => {
    for (const v of values(23, 2000)) {
      expect(decodeCbor(encode(v, compact), compact)).toEqual(v);
      // A value repeated within one document: its strings come back through references.
      expect(decodeCbor(encode([v, v, { method: v, url: [v] }], compact), compact)).toEqual([
        v,
        v,
        { method: v, url: [v] },
      ]);
    }
    const lone = "cut inside an emoji \ud83e";
    expect(
      decodeCbor(encode([lone, lone, "é".repeat(30), "é".repeat(30)], compact), compact),
    ).toEqual([lone, lone, "é".repeat(30), "é".repeat(30)]);
  });

  it("writes table keys as one-byte integers and a repeated string as a 3-byte reference", () => {
    const pair = ["content-type", "application/json"];
    const one = encode([{ headers: [pair] }], compact).length;
    const two = encode([{ headers: [pair] }, { headers: [pair] }], compact).length;
    // `headers` is key 5: one byte; the two strings come back as 3 bytes each.
    expect(two - one).toBe(1 + 1 + 1 + 1 + 3 + 3);
    expect(encode({ headers: 1 }, compact)).toEqual(Uint8Array.of(0xa1, 0x05, 0x01));
  });

  it("forgets the strings of a value it rewinds, so the reader stays in step", () => {
    const w = new CborWriter(64, compact);
    w.head(4, 2);
    w.value("first-string");
    const mark = w.length;
    expect(() => w.value({ "second-string": () => 0 })).toThrow(TypeError);
    w.rewind(mark);
    w.value(["second-string", "second-string", "first-string"]);
    expect(decodeCbor(w.finish(), compact)).toEqual([
      "first-string",
      ["second-string", "second-string", "first-string"],
    ]);
  });

  it("is not read as plain CBOR, nor plain CBOR's integer keys as compact ones by accident", () => {
    const bytes = encode({ headers: "x" }, compact);
    expect(() => decodeCbor(bytes)).toThrow(/map key is not a text string/);
    expect(() => decodeCbor(encode(["abc", "abc"], compact))).toThrow(/tag 25/);
  });
});

describe("a writer reused across traces", () => {
  it("starts over on reset: nothing of the last trace, its strings included, leaks into the next", () => {
    const w = new CborWriter(16, { compact: true });
    w.value(["shared-string", "x".repeat(5000)]);
    expect(w.capacity).toBeGreaterThan(5000);
    w.reset();
    w.value(["shared-string", "shared-string"]);
    // Read on its own, the second trace refers only to strings it wrote itself.
    expect(decodeCbor(w.finish(), { compact: true })).toEqual(["shared-string", "shared-string"]);
  });

  it("hands over a buffer it filled exactly without a copy, and copies otherwise", () => {
    const exact = new CborWriter(3);
    exact.value([1, 2]);
    const bytes = exact.take();
    expect(bytes).toEqual(Uint8Array.of(0x82, 0x01, 0x02));
    expect(bytes.buffer.byteLength).toBe(3);
    expect(exact.capacity, "it never grew").toBe(3);
    const roomy = new CborWriter(64);
    roomy.value([1, 2]);
    expect(roomy.take().buffer.byteLength).toBe(3);
  });
});
