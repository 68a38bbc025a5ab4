/**
 * The bounded CBOR reader: RFC 8949 appendix A vectors it reads, the features it refuses, its
 * limits, and a round-trip property over the trace data model against the encoder.
 */
import { describe, expect, it } from "vitest";
import { isFluxError, type FluxErrorCode } from "../errors.js";
import { encodeCbor } from "./_cbor.js";
import { decodeCbor, HEAD_LIMITS, type DecodeLimits } from "./_decode.js";

const hex = (h: string) => Uint8Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16));

function codeOf(bytes: Uint8Array, limits?: Partial<DecodeLimits>): FluxErrorCode | "none" {
  try {
    decodeCbor(bytes, limits ? { limits } : {});
    return "none";
  } catch (err) {
    if (!isFluxError(err)) throw err;
    return err.code;
  }
}

describe("decodeCbor reads RFC 8949 appendix A", () => {
  const vectors: [string, unknown][] = [
    ["00", 0],
    ["17", 23],
    ["1818", 24],
    ["1903e8", 1000],
    ["1a000f4240", 1000000],
    ["1b000000e8d4a51000", 1000000000000],
    ["1b001fffffffffffff", Number.MAX_SAFE_INTEGER],
    ["20", -1],
    ["3903e7", -1000],
    ["3b001ffffffffffffe", -Number.MAX_SAFE_INTEGER],
    ["f90000", 0],
    ["f98000", -0],
    ["f93c00", 1],
    ["fb3ff199999999999a", 1.1],
    ["f93e00", 1.5],
    ["f97bff", 65504],
    ["fa47c35000", 100000],
    ["fa7f7fffff", 3.4028234663852886e38],
    ["fb7e37e43c8800759c", 1e300],
    ["f90001", 5.960464477539063e-8],
    ["f90400", 0.00006103515625],
    ["f9c400", -4],
    ["fbc010666666666666", -4.1],
    ["f97c00", Infinity],
    ["f97e00", NaN],
    ["f9fc00", -Infinity],
    ["fa7f800000", Infinity],
    ["fbfff0000000000000", -Infinity],
    ["f4", false],
    ["f5", true],
    ["f6", null],
    ["f7", undefined],
    ["c11a514b67b0", new Date(1363896240000)],
    ["c1fb41d452d9ec200000", new Date(1363896240500)],
    ["40", new Uint8Array()],
    ["4401020304", Uint8Array.of(1, 2, 3, 4)],
    ["60", ""],
    ["6161", "a"],
    ["6449455446", "IETF"],
    ["62225c", '"\\'],
    ["62c3bc", "ü"],
    ["63e6b0b4", "水"],
    ["64f0908591", "𐅑"],
    ["63efbbbf", "\ufeff"],
    ["80", []],
    ["83010203", [1, 2, 3]],
    ["8301820203820405", [1, [2, 3], [4, 5]]],
    [
      "98190102030405060708090a0b0c0d0e0f101112131415161718181819",
      [...Array(25)].map((_, i) => i + 1),
    ],
    ["a0", {}],
    ["a26161016162820203", { a: 1, b: [2, 3] }],
    ["826161a161626163", ["a", { b: "c" }]],
  ];
  it.each(vectors)("%s", (h, expected) => {
    const value = decodeCbor(hex(h));
    expect(value).toEqual(expected);
    if (typeof expected === "number") expect(Object.is(value, expected)).toBe(true);
  });

  it("hands back byte strings as plain Uint8Arrays and maps as plain objects", () => {
    const value = decodeCbor(hex("a1616142abcd")) as { a: Uint8Array };
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(value.a)).toBe(Uint8Array.prototype);
    expect(value.a.byteLength).toBe(2);
  });

  it("keeps a __proto__ key an own property, as JSON.parse does, and pollutes nothing", () => {
    const value = decodeCbor(encodeCbor(JSON.parse('{"__proto__":{"polluted":1},"x":2}'))) as {
      x: number;
    };
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(["__proto__", "x"]);
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    expect((value as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it("reads the encoded lone surrogates cbor-x writes, and no other ill-formed UTF-8", () => {
    expect(decodeCbor(hex("63eda080"))).toBe("\ud800");
    expect(decodeCbor(encodeCbor(`${"x".repeat(40)}\udc00`))).toBe(`${"x".repeat(40)}\udc00`);
    for (const bad of ["62c328", "61ff", "62c0af", "63e08080", "64f8888080", "63ed80", "62c3"])
      expect(codeOf(hex(bad)), bad).not.toBe("none");
  });
});

describe("decodeCbor refuses", () => {
  const table: [string, string, FluxErrorCode][] = [
    ["an empty input", "", "ERR_TRACE_TRUNCATED"],
    ["a cut integer", "1a0001", "ERR_TRACE_TRUNCATED"],
    ["a cut string", "6461", "ERR_TRACE_TRUNCATED"],
    ["a cut array", "830102", "ERR_TRACE_TRUNCATED"],
    ["a map cut before a key", "a2616101", "ERR_TRACE_TRUNCATED"],
    ["bytes after the item", "0000", "ERR_TRACE_CORRUPT"],
    ["an unsigned integer past 2^53 - 1", "1b0020000000000000", "ERR_TRACE_CORRUPT"],
    ["a negative integer past -(2^53 - 1)", "3b001fffffffffffff", "ERR_TRACE_CORRUPT"],
    ["2^64 - 1", "1bffffffffffffffff", "ERR_TRACE_CORRUPT"],
    ["a reserved head", "1c", "ERR_TRACE_CORRUPT"],
    ["an indefinite byte string", "5f42010243030405ff", "ERR_TRACE_CORRUPT"],
    ["an indefinite text string", "7f657374726561646d696e67ff", "ERR_TRACE_CORRUPT"],
    ["an indefinite array", "9f018202039f0405ffff", "ERR_TRACE_CORRUPT"],
    ["an indefinite map", "bf61610161629f0203ffff", "ERR_TRACE_CORRUPT"],
    ["a break outside an indefinite item", "ff", "ERR_TRACE_CORRUPT"],
    ["a shared value (tag 28)", "d81c80", "ERR_TRACE_CORRUPT"],
    ["a shared reference (tag 29)", "82d81c80d81d00", "ERR_TRACE_CORRUPT"],
    ["a date string (tag 0)", "c074323031332d30332d32315432303a30343a30305a", "ERR_TRACE_CORRUPT"],
    ["a bignum (tag 2)", "c249010000000000000000", "ERR_TRACE_CORRUPT"],
    ["a set (tag 258)", "d901028101", "ERR_TRACE_CORRUPT"],
    ["a typed array (tag 69)", "d845420100", "ERR_TRACE_CORRUPT"],
    ["a cbor-x record definition", "d9dfff8361616162a1", "ERR_TRACE_CORRUPT"],
    ["a tag with a 64-bit number", "dbffffffffffffffff00", "ERR_TRACE_CORRUPT"],
    ["a date holding a string", "c16161", "ERR_TRACE_CORRUPT"],
    ["a simple value", "f0", "ERR_TRACE_CORRUPT"],
    ["a one-byte simple value", "f8ff", "ERR_TRACE_CORRUPT"],
    ["an integer map key", "a201020304", "ERR_TRACE_CORRUPT"],
    ["a byte-string map key", "a1410100", "ERR_TRACE_CORRUPT"],
    ["a repeated map key", "a2616101616102", "ERR_TRACE_CORRUPT"],
    [
      "a repeated __proto__ key",
      "a2695f5f70726f746f5f5f01695f5f70726f746f5f5f02",
      "ERR_TRACE_CORRUPT",
    ],
  ];
  it.each(table)("%s → %s", (_name, h, expected) => {
    expect(codeOf(hex(h))).toBe(expected);
  });

  it("refuses a declared length beyond the bytes left before allocating for it", () => {
    // 8 M items, 2^32 - 1 items, 2^32 entries: each from a handful of bytes
    expect(codeOf(hex("9a00800000"), { maxItems: 1e9 })).toBe("ERR_TRACE_TRUNCATED");
    expect(codeOf(hex("9affffffff00"), { maxItems: 2 ** 40 })).toBe("ERR_TRACE_TRUNCATED");
    expect(codeOf(hex("bb0000000100000000"), { maxItems: Number.MAX_SAFE_INTEGER })).toBe(
      "ERR_TRACE_TRUNCATED",
    );
    expect(codeOf(hex("5b001fffffffffffff"))).toBe("ERR_TRACE_LIMIT");
    expect(codeOf(hex("5a00100000"), { maxStringBytes: 1 << 21 })).toBe("ERR_TRACE_TRUNCATED");
  });

  it("applies each limit", () => {
    const nested = (n: number) => new Uint8Array(n).fill(0x81);
    expect(codeOf(Uint8Array.of(...nested(4), 0), { maxDepth: 4 })).toBe("none");
    expect(codeOf(Uint8Array.of(...nested(5), 0), { maxDepth: 4 })).toBe("ERR_TRACE_LIMIT");
    expect(codeOf(Uint8Array.of(...nested(1e5), 0))).toBe("ERR_TRACE_LIMIT");
    const dates = Uint8Array.of(...new Uint8Array(5).fill(0xc1), 0);
    expect(codeOf(dates, { maxDepth: 4 })).toBe("ERR_TRACE_LIMIT");
    expect(codeOf(hex("83010203"), { maxItems: 4 })).toBe("none");
    expect(codeOf(hex("83010203"), { maxItems: 3 })).toBe("ERR_TRACE_LIMIT");
    expect(codeOf(hex("a26161016162820203"), { maxItems: 7 })).toBe("none");
    expect(codeOf(hex("a26161016162820203"), { maxItems: 6 })).toBe("ERR_TRACE_LIMIT");
    expect(codeOf(hex("6449455446"), { maxStringBytes: 4 })).toBe("none");
    expect(codeOf(hex("6449455446"), { maxStringBytes: 3 })).toBe("ERR_TRACE_LIMIT");
    expect(codeOf(hex("4401020304"), { maxStringBytes: 3 })).toBe("ERR_TRACE_LIMIT");
    expect(codeOf(hex("4401020304"), { maxBytes: 4 })).toBe("ERR_TRACE_LIMIT");
  });

  it("says what it was reading and where, without the bytes", () => {
    let message = "";
    try {
      decodeCbor(encodeCbor({ secret: "top-secret", n: [1, 2, 3] }).subarray(0, 20), {
        what: "trace head",
      });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^Could not read the trace head: it ends early \(at byte \d+\)$/);
    expect(message).not.toContain("secret");
  });

  it("throws a RangeError for limits that are not positive integers", () => {
    expect(() => decodeCbor(hex("00"), { limits: { maxItems: NaN } })).toThrow(RangeError);
    expect(() => decodeCbor(hex("00"), { limits: { maxDepth: 0 } })).toThrow(RangeError);
  });

  it("keeps the head limits tighter than the payload defaults", () => {
    expect(HEAD_LIMITS.maxItems).toBeLessThan(1_000_000);
    expect(codeOf(new Uint8Array([0x9a, 0, 7, 0xa1, 0x20]), HEAD_LIMITS)).toBe("ERR_TRACE_LIMIT");
  });
});

/** A small seeded PRNG (mulberry32), so every run checks the same values. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KEYS = [
  "",
  "a",
  "method",
  "headers",
  "__proto__",
  "constructor",
  "toString",
  "0",
  "1",
  "ü",
  "😀",
];
const NUMBERS = [
  0,
  1,
  23,
  24,
  255,
  256,
  65535,
  65536,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 53 - 1,
  -1,
  -24,
  -25,
  -256,
  -(2 ** 32),
  -(2 ** 32) - 1,
  -(2 ** 53 - 1),
  0.1,
  1.5,
  -4.1,
  1e300,
  5e-324,
  65504,
  NaN,
  Infinity,
  -Infinity,
  2 ** 60,
  1e21,
];

/** A random value of the trace data model: what the recorder puts in heads and payloads. */
function value(rand: () => number, depth: number): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const int = (n: number) => Math.floor(rand() * n);
  const kind = int(depth > 3 ? 7 : 10);
  switch (kind) {
    case 0:
      return pick([null, undefined, true, false]);
    case 1:
      return pick(NUMBERS);
    case 2:
      return (rand() - 0.5) * 10 ** int(20);
    case 3:
      return int(2 ** 33) - 2 ** 32;
    case 4:
      return Array.from({ length: int(40) }, () =>
        pick(["a", "é", "水", "😀", "\ud800", "\udc00", "\ufeff", "\0", " ", "/"]),
      ).join("");
    case 5:
      return Uint8Array.from({ length: int(64) }, () => int(256));
    case 6:
      return new Date(pick([0, 1363896240000, 1363896240123, -1, -86_400_001, 8.64e15]));
    case 7:
      return Array.from({ length: int(6) }, () => value(rand, depth + 1));
    default: {
      const out: Record<string, unknown> = {};
      for (let i = int(6); i > 0; i--) {
        Object.defineProperty(out, pick(KEYS) + (rand() < 0.3 ? int(9) : ""), {
          value: value(rand, depth + 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
  }
}

describe("round trip with the encoder", () => {
  it("decodes 2000 random values of the trace data model to deep-equal values", () => {
    const rand = prng(0x5eed);
    for (let i = 0; i < 2000; i++) {
      const v = value(rand, 0);
      expect(decodeCbor(encodeCbor(v)), `value #${i}`).toEqual(v);
    }
  });

  it("keeps an invalid Date invalid", () => {
    const d = decodeCbor(encodeCbor(new Date(NaN)));
    expect(d).toBeInstanceOf(Date);
    expect(Number.isNaN((d as Date).getTime())).toBe(true);
  });
});

describe("the compact profile of format version 3, from hostile bytes", () => {
  const compactCode = (h: string, limits?: Partial<DecodeLimits>): FluxErrorCode | "none" => {
    try {
      decodeCbor(hex(h), { compact: true, ...(limits ? { limits } : {}) });
      return "none";
    } catch (err) {
      if (!isFluxError(err)) throw err;
      return err.code;
    }
  };
  const table: [string, string, FluxErrorCode | "none"][] = [
    ["a key from the table", "a10501", "none"],
    ["a key index past the table", "a119ffff01", "ERR_TRACE_CORRUPT"],
    ["a negative integer key", "a12001", "ERR_TRACE_CORRUPT"],
    ["a reference to nothing", "81d81900", "ERR_TRACE_CORRUPT"],
    ["a reference to a later string", "82d8190063616263", "ERR_TRACE_CORRUPT"],
    ["a reference that is not an integer", "8263616263d81963616263", "ERR_TRACE_CORRUPT"],
    ["a string too short to be numbered, referenced", "826161d81900", "ERR_TRACE_CORRUPT"],
    ["a reference holding a reference", "8263616263d819d81900", "ERR_TRACE_CORRUPT"],
    ["a reference as a map key", "8263616263a1d8190001", "none"],
    [
      "a key and its reference repeated in one map",
      "8263616263a2d81900016361626302",
      "ERR_TRACE_CORRUPT",
    ],
    ["a date as a map key", "a1c10001", "ERR_TRACE_CORRUPT"],
    ["other tags, as in plain CBOR", "d81c80", "ERR_TRACE_CORRUPT"],
  ];
  it.each(table)("%s → %s", (_name, h, expected) => {
    expect(compactCode(h)).toBe(expected);
  });

  it("counts what references stand for against the byte limit: no expansion bomb", () => {
    // One 1000-character string, then 2000 references to it: 6 KB standing for 2 MB.
    const refs = "d81900".repeat(2000);
    const bomb = `82${"7903e8" + "61".repeat(1000)}99${(2000).toString(16).padStart(4, "0")}${refs}`;
    expect(compactCode(bomb, { maxBytes: 1024 * 1024 })).toBe("ERR_TRACE_LIMIT");
    expect(compactCode(bomb, { maxBytes: 4 * 1024 * 1024 })).toBe("none");
  });
});
