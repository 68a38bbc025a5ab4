import { describe, expect, it } from "vitest";
import { encode } from "./_encode.js";
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
