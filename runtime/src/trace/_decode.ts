/**
 * FluxRun's CBOR reader for untrusted bytes: the subset of RFC 8949 the trace format uses, read
 * under limits that are checked before anything is allocated.
 *
 * Read: unsigned and negative integers within the safe-integer range, byte strings (as
 * `Uint8Array` views on the input, as cbor-x gave them), text strings (strict UTF-8, plus the
 * encoded lone surrogates cbor-x writes), definite-length arrays, maps with text keys (as plain
 * objects, like `JSON.parse` builds them, so a `__proto__` key is an own property), floats of 16,
 * 32 and 64 bits, `false`, `true`, `null`, `undefined`, and tag 1 (epoch seconds, the encoder's
 * `Date`). Refused: indefinite lengths, shared references (tags 28/29), cbor-x record extensions
 * and every other tag, other simple values, non-text and repeated map keys, bytes after the end.
 * With `compact`, format version 3's profile (`_profile.ts`) is read too: integer map keys from
 * its key table and string references (tag 25), whose expansion counts against the byte limit.
 *
 * A declared length is compared with the limits and with the bytes left before it is used, so a
 * 20-byte input declaring 8 M items is refused at once; the item limit bounds the memory and the
 * later schema checks of a decoded value. Failures are {@link FluxError}s: `ERR_TRACE_LIMIT` (a
 * limit), `ERR_TRACE_TRUNCATED` (the input ends early), `ERR_TRACE_CORRUPT` (anything else);
 * messages carry offsets and sizes, never input bytes.
 * @module
 */
import { FluxError, isFluxError, type FluxErrorCode } from "../errors.js";
import { KEY_TABLE, MAX_REFS, REF_TAG, refMinLength } from "./_profile.js";

/** How much one decode may take. Every count is checked before the allocation it would cause. */
export interface DecodeLimits {
  /** Largest input, in bytes. */
  maxBytes: number;
  /** Deepest nesting of arrays, maps and tags (a flat array is depth 1). */
  maxDepth: number;
  /** Most data items: every value, array element, map key and map value counts one. */
  maxItems: number;
  /** Longest text or byte string, in bytes. */
  maxStringBytes: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * Limits for a payload list (the recorder's budget is 5000 events and 4 MiB of payloads by
 * default; these leave room for raised budgets). The default of {@link decodeCbor}.
 */
export const PAYLOAD_LIMITS: Readonly<DecodeLimits> = Object.freeze({
  maxBytes: 16 * MiB,
  maxDepth: 64,
  maxItems: 1_000_000,
  maxStringBytes: 16 * MiB,
});

/**
 * Limits for a clear head, read before any authentication: 5000 typical events take about
 * 150 k items and under 1 MiB; strings there are names, routes and targets.
 */
export const HEAD_LIMITS: Readonly<DecodeLimits> = Object.freeze({
  maxBytes: 8 * MiB,
  maxDepth: 16,
  maxItems: 400_000,
  maxStringBytes: 64 * KiB,
});

/** Options of {@link decodeCbor}. */
export interface DecodeOptions {
  /** Overrides of {@link PAYLOAD_LIMITS}. */
  limits?: Partial<DecodeLimits>;
  /** What is being read, for messages: "Could not read the <what>: ...". Default "CBOR input". */
  what?: string;
  /**
   * Read format version 3's compact profile (`_profile.ts`): integer map keys from its key table
   * and string references (tag 25). The text the references stand for counts against
   * `maxBytes`, as if each copy were written out, so a few bytes cannot expand into gigabytes.
   */
  compact?: boolean;
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The largest argument a 64-bit head may carry and still be a safe integer: 2^53 - 1. */
const MAX_HIGH_WORD = 0x1f_ffff;

/** `base` with `overrides`; a RangeError when a limit is not a positive integer. */
export function resolveLimits(
  overrides: Partial<DecodeLimits> = {},
  base: Readonly<DecodeLimits> = PAYLOAD_LIMITS,
): DecodeLimits {
  const limits = { ...base, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`decodeCbor: limits.${name} must be a positive integer`);
    }
  }
  return limits;
}

function halfFloat(bits: number): number {
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  const magnitude =
    exponent === 0
      ? mantissa * 2 ** -24
      : exponent !== 0x1f
        ? (mantissa + 0x400) * 2 ** (exponent - 25)
        : mantissa === 0
          ? Infinity
          : NaN;
  return bits & 0x8000 ? -magnitude : magnitude;
}

/**
 * Strict UTF-8 that also reads encoded surrogates (ED A0-BF xx): cbor-x writes a lone surrogate
 * of a JS string that way (a string cut inside an emoji), and such a string must survive a
 * round trip. Anything else that is not UTF-8 gives `undefined`.
 */
function wtf8(bytes: Uint8Array): string | undefined {
  const units: number[] = [];
  let out = "";
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i]!;
    let size: number;
    let low = 0x80;
    let high = 0xbf;
    let point: number;
    if (b < 0x80) {
      size = 1;
      point = b;
    } else if (b >= 0xc2 && b <= 0xdf) {
      size = 2;
      point = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
      size = 3;
      point = b & 0x0f;
      if (b === 0xe0) low = 0xa0;
    } else if (b >= 0xf0 && b <= 0xf4) {
      size = 4;
      point = b & 0x07;
      if (b === 0xf0) low = 0x90;
      if (b === 0xf4) high = 0x8f;
    } else {
      return undefined;
    }
    if (i + size > bytes.length) return undefined;
    for (let k = 1; k < size; k++) {
      const c = bytes[i + k]!;
      if (c < (k === 1 ? low : 0x80) || c > (k === 1 ? high : 0xbf)) return undefined;
      point = (point << 6) | (c & 0x3f);
    }
    i += size;
    if (point > 0xffff) {
      point -= 0x10000;
      units.push(0xd800 + (point >> 10), 0xdc00 + (point & 0x3ff));
    } else {
      units.push(point);
    }
    if (units.length >= 4096) out += String.fromCharCode(...units.splice(0));
  }
  return out + String.fromCharCode(...units);
}

class Reader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #limits: DecodeLimits;
  readonly #what: string;
  #pos = 0;
  #items = 0;
  /** Compact profile: the numbered strings, and the text references have stood for so far. */
  readonly #refs: string[] | null;
  #expanded = 0;

  constructor(bytes: Uint8Array, limits: DecodeLimits, what: string, compact = false) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#limits = limits;
    this.#what = what;
    this.#refs = compact ? [] : null;
  }

  read(): unknown {
    if (this.#bytes.length > this.#limits.maxBytes) {
      this.#fail(
        "ERR_TRACE_LIMIT",
        `it is ${this.#bytes.length} bytes, over the limit of ${this.#limits.maxBytes}`,
      );
    }
    this.#count(1);
    const value = this.#item(0);
    if (this.#pos !== this.#bytes.length) {
      this.#fail("ERR_TRACE_CORRUPT", `${this.#bytes.length - this.#pos} bytes follow its end`);
    }
    return value;
  }

  #fail(code: FluxErrorCode, reason: string): never {
    throw new FluxError(code, `Could not read the ${this.#what}: ${reason}`);
  }

  /** Reserves `n` more items against the limit. */
  #count(n: number): void {
    this.#items += n;
    if (this.#items > this.#limits.maxItems) {
      this.#fail(
        "ERR_TRACE_LIMIT",
        `it holds more than ${this.#limits.maxItems} items (at byte ${this.#pos})`,
      );
    }
  }

  #need(n: number): void {
    if (n > this.#bytes.length - this.#pos) {
      this.#fail("ERR_TRACE_TRUNCATED", `it ends early (at byte ${this.#pos})`);
    }
  }

  #enter(depth: number): number {
    if (depth >= this.#limits.maxDepth) {
      this.#fail(
        "ERR_TRACE_LIMIT",
        `it nests deeper than ${this.#limits.maxDepth} levels (at byte ${this.#pos})`,
      );
    }
    return depth + 1;
  }

  #item(depth: number): unknown {
    this.#need(1);
    const start = this.#pos;
    const initial = this.#bytes[this.#pos++]!;
    const major = initial >> 5;
    const info = initial & 0x1f;
    if (major === 7) return this.#simple(info, start);
    if (info === 31) {
      this.#fail("ERR_TRACE_CORRUPT", `it uses an indefinite length (at byte ${start})`);
    }
    const arg = this.#argument(info, start);
    switch (major) {
      case 0:
        if (arg > Number.MAX_SAFE_INTEGER) this.#unsafeInteger(start);
        return arg;
      case 1:
        if (arg >= Number.MAX_SAFE_INTEGER) this.#unsafeInteger(start);
        return -1 - arg;
      case 2:
        return this.#byteString(arg, start);
      case 3:
        return this.#text(arg, start);
      case 4:
        return this.#array(arg, this.#enter(depth));
      case 5:
        return this.#map(arg, this.#enter(depth));
      default:
        return this.#tag(arg, this.#enter(depth), start);
    }
  }

  /** The argument of a head; `Infinity` when it is past the safe-integer range. */
  #argument(info: number, start: number): number {
    if (info < 24) return info;
    switch (info) {
      case 24:
        this.#need(1);
        return this.#bytes[this.#pos++]!;
      case 25:
        this.#need(2);
        this.#pos += 2;
        return this.#view.getUint16(this.#pos - 2);
      case 26:
        this.#need(4);
        this.#pos += 4;
        return this.#view.getUint32(this.#pos - 4);
      case 27: {
        this.#need(8);
        const high = this.#view.getUint32(this.#pos);
        const low = this.#view.getUint32(this.#pos + 4);
        this.#pos += 8;
        return high > MAX_HIGH_WORD ? Infinity : high * 0x1_0000_0000 + low;
      }
      default:
        return this.#fail("ERR_TRACE_CORRUPT", `it uses a reserved head (at byte ${start})`);
    }
  }

  #unsafeInteger(start: number): never {
    this.#fail(
      "ERR_TRACE_CORRUPT",
      `it holds an integer outside the safe-integer range (at byte ${start})`,
    );
  }

  /** Checks a string length and moves past it; returns where it starts. */
  #stringAt(length: number, start: number): number {
    if (length > this.#limits.maxStringBytes) {
      this.#fail(
        "ERR_TRACE_LIMIT",
        `it declares a string longer than ${this.#limits.maxStringBytes} bytes (at byte ${start})`,
      );
    }
    this.#need(length);
    this.#pos += length;
    return this.#pos - length;
  }

  #byteString(length: number, start: number): Uint8Array {
    const at = this.#stringAt(length, start);
    return new Uint8Array(this.#bytes.buffer, this.#bytes.byteOffset + at, length);
  }

  #text(length: number, start: number): string {
    const text = this.#plainText(length, start);
    const refs = this.#refs;
    if (refs && refs.length < MAX_REFS && length >= refMinLength(refs.length)) refs.push(text);
    return text;
  }

  #plainText(length: number, start: number): string {
    const at = this.#stringAt(length, start);
    if (length <= 32) {
      let ascii = "";
      for (let i = at; i < at + length; i++) {
        const b = this.#bytes[i]!;
        if (b > 0x7f) return this.#utf8(at, length, start);
        ascii += String.fromCharCode(b);
      }
      return ascii;
    }
    return this.#utf8(at, length, start);
  }

  #utf8(at: number, length: number, start: number): string {
    const bytes = this.#bytes.subarray(at, at + length);
    try {
      return utf8.decode(bytes);
    } catch {
      const text = wtf8(bytes);
      if (text === undefined) {
        this.#fail("ERR_TRACE_CORRUPT", `a text string is not valid UTF-8 (at byte ${start})`);
      }
      return text;
    }
  }

  #array(length: number, depth: number): unknown[] {
    this.#count(length);
    // every element takes at least one byte
    this.#need(length);
    const out = new Array<unknown>(length);
    for (let i = 0; i < length; i++) out[i] = this.#item(depth);
    return out;
  }

  #map(size: number, depth: number): Record<string, unknown> {
    this.#count(2 * size);
    // every entry takes at least two bytes
    this.#need(2 * size);
    const out: Record<string, unknown> = {};
    for (let i = 0; i < size; i++) {
      const keyAt = this.#pos;
      this.#need(1);
      const key = this.#key(keyAt, depth);
      if (Object.hasOwn(out, key)) {
        this.#fail("ERR_TRACE_CORRUPT", `a map repeats a key (at byte ${keyAt})`);
      }
      const value = this.#item(depth);
      if (key === "__proto__") {
        Object.defineProperty(out, key, {
          value,
          writable: true,
          enumerable: true,
          configurable: true,
        });
      } else {
        out[key] = value;
      }
    }
    return out;
  }

  /** A map key: text; in the compact profile also a key-table index or a string reference. */
  #key(at: number, depth: number): string {
    const major = this.#bytes[at]! >> 5;
    if (this.#refs && major === 0) {
      const index = this.#item(depth) as number;
      const key = KEY_TABLE[index];
      if (key === undefined) {
        this.#fail("ERR_TRACE_CORRUPT", `a map key is not in the key table (at byte ${at})`);
      }
      return key;
    }
    if (major !== 3 && !(this.#refs && major === 6)) {
      this.#fail("ERR_TRACE_CORRUPT", `a map key is not a text string (at byte ${at})`);
    }
    const key = this.#item(depth);
    if (typeof key !== "string") {
      this.#fail("ERR_TRACE_CORRUPT", `a map key is not a text string (at byte ${at})`);
    }
    return key;
  }

  /** A string reference (compact profile): the numbered string, counted as if written out. */
  #ref(depth: number, start: number): string {
    const index = this.#item(depth);
    const text = typeof index === "number" ? this.#refs![index] : undefined;
    if (text === undefined) {
      this.#fail("ERR_TRACE_CORRUPT", `a string reference points nowhere (at byte ${start})`);
    }
    this.#expanded += text.length;
    if (this.#expanded > this.#limits.maxBytes) {
      this.#fail(
        "ERR_TRACE_LIMIT",
        `its string references stand for more than ${this.#limits.maxBytes} bytes (at byte ${start})`,
      );
    }
    return text;
  }

  #tag(tag: number, depth: number, start: number): Date | string {
    if (tag === REF_TAG && this.#refs) {
      this.#count(1);
      return this.#ref(depth, start);
    }
    if (tag !== 1) {
      const what =
        tag === 28 || tag === 29
          ? "a shared reference"
          : tag === Infinity
            ? "a tag beyond the safe-integer range"
            : `tag ${tag}`;
      this.#fail(
        "ERR_TRACE_CORRUPT",
        `it uses ${what}, which traces never hold (at byte ${start})`,
      );
    }
    this.#count(1);
    const seconds = this.#item(depth);
    if (typeof seconds !== "number") {
      this.#fail("ERR_TRACE_CORRUPT", `a date does not hold a number (at byte ${start})`);
    }
    return new Date(Math.round(seconds * 1000));
  }

  #simple(info: number, start: number): unknown {
    switch (info) {
      case 20:
        return false;
      case 21:
        return true;
      case 22:
        return null;
      case 23:
        return undefined;
      case 25:
        this.#need(2);
        this.#pos += 2;
        return halfFloat(this.#view.getUint16(this.#pos - 2));
      case 26:
        this.#need(4);
        this.#pos += 4;
        return this.#view.getFloat32(this.#pos - 4);
      case 27:
        this.#need(8);
        this.#pos += 8;
        return this.#view.getFloat64(this.#pos - 8);
      case 31:
        return this.#fail(
          "ERR_TRACE_CORRUPT",
          `it holds a break code outside an indefinite-length item (at byte ${start})`,
        );
      default:
        return this.#fail(
          "ERR_TRACE_CORRUPT",
          `it holds an unknown simple value (at byte ${start})`,
        );
    }
  }
}

/**
 * Decodes one CBOR data item from untrusted bytes under limits (default {@link PAYLOAD_LIMITS}).
 * Throws only {@link FluxError}: `ERR_TRACE_LIMIT`, `ERR_TRACE_TRUNCATED` or `ERR_TRACE_CORRUPT`
 * (a `RangeError` for limits that are not positive integers).
 *
 * @example
 * ```ts
 * const head = decodeCbor(headBytes, { limits: HEAD_LIMITS, what: "trace head" });
 * ```
 */
export function decodeCbor(bytes: Uint8Array, options: DecodeOptions = {}): unknown {
  const limits = resolveLimits(options.limits);
  const what = options.what ?? "CBOR input";
  if (!(bytes instanceof Uint8Array)) {
    throw new FluxError("ERR_TRACE_CORRUPT", `Could not read the ${what}: it is not bytes`);
  }
  try {
    return new Reader(bytes, limits, what, options.compact).read();
  } catch (cause) {
    if (isFluxError(cause)) throw cause;
    // Not expected (the reader throws only FluxErrors); an allocation failure would land here.
    throw new FluxError("ERR_TRACE_CORRUPT", `Could not read the ${what}: decoding failed`, {
      cause,
    });
  }
}
